"""One run's own part of a training: its optimiser, generator, state, files; an epoch's end.

:func:`agents.harness.fit` trains one :class:`Run`; runs trained together in lockstep (several
seeds in one process, :mod:`agents.ram.multirun`) keep one each and share only the step.

- :func:`open_run`: the optimiser and the run's generator (seeded with ``--seed``), restored
  from ``OUT/last.pt`` with ``--resume``; ``OUT`` and its metrics files opened;
- :func:`end_epoch`: the schedule's step, the epoch's row (metrics and evaluations) to
  ``metrics.csv`` and TensorBoard, a printed line, ``best.pt`` and ``last.pt``;
- :func:`finish`: the final test, ``results.json`` and a ``wrote PATH`` line per file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from agents.checkpoints import CheckpointError
from agents.harness.args import RUN_CONTROL, TrainArgs
from agents.harness.command import print_written
from agents.harness.metrics import MetricsLog
from agents.harness.optimization import Optimization
from agents.harness.resume import RunState, check_resumable, restore_rng, rng_state

if TYPE_CHECKING:
    from agents.harness.loop import Trainer

__all__ = ["Run", "columns", "end_epoch", "finish", "open_run", "start_from", "write_json"]


@dataclass
class Run:
    """One run: its arguments, trainer, optimiser, generator, progress and files."""

    args: TrainArgs
    trainer: Trainer
    optimization: Optimization
    generator: torch.Generator
    state: RunState
    out: Path | None
    log: MetricsLog | None = None

    @property
    def last(self) -> Path | None:
        return self.out / "last.pt" if self.out is not None else None

    @property
    def best(self) -> Path | None:
        return self.out / "best.pt" if self.out is not None else None

    def checkpoint(self) -> dict[str, Any]:
        """``last.pt``/``best.pt``: the trainer's entries, the weights, and what resumes."""
        return {
            **self.trainer.checkpoint_info(),
            "model": self.trainer.model.state_dict(),
            "args": asdict(self.args),
            "epoch": self.state.epoch,
            "best": self.state.best,
            "train_time_s": self.state.train_time_s,
            **self.optimization.state_dict(),
            "rng": rng_state(self.generator),
        }


def columns(trainer: Trainer) -> list[str]:
    """The metrics CSV columns of a run of ``trainer``."""
    return [
        "epoch",
        "learning_rate",
        *trainer.metrics,
        *trainer.eval_columns,
        "epoch_time_s",
        "train_time_s",
    ]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (a temp file, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def open_run(args: TrainArgs, trainer: Trainer) -> Run:
    """The run's optimiser and generator, restored from ``OUT/last.pt`` with ``--resume``
    (weights, optimiser, schedule, RNGs, epoch), and ``OUT`` with its metrics files."""
    run = Run(
        args=args,
        trainer=trainer,
        optimization=Optimization(trainer.parameters(), args),
        generator=torch.Generator(device=torch.device(args.device)).manual_seed(args.seed),
        state=RunState(),
        out=Path(args.out) if args.out is not None else None,
    )
    last = run.last
    if last is not None and args.resume and last.is_file():
        saved = trainer.checkpoints.load(last, device="cpu")  # RNG states must stay on the CPU
        check_resumable(saved.get("args", {}), args, last, (*RUN_CONTROL, *trainer.run_control))
        run.state = RunState.from_checkpoint(saved, last)
        trainer.model.load_state_dict(saved["model"])
        run.optimization.load_state_dict(saved)
        restore_rng(saved["rng"], run.generator)
        print(f"resuming {last} after epoch {run.state.epoch}")
    else:
        if args.resume:
            print(f"--resume: no {last} yet, starting afresh")
        if args.init_from is not None:
            start_from(trainer, Path(args.init_from))
    if run.out is not None:
        run.out.mkdir(parents=True, exist_ok=True)
        run.log = MetricsLog(
            run.out, columns(trainer), trainer.name, run.state.epoch, args.tensorboard
        )
    return run


def start_from(trainer: Trainer, path: Path) -> None:
    """Load the weights of checkpoint ``path`` into ``trainer.model`` (``--init-from``).

    Raises:
        FileNotFoundError, CheckpointError: no checkpoint, or one of another agent, or whose
            weights do not fit the model (the message names the first mismatch).
    """
    saved = trainer.checkpoints.load(path, device="cpu")
    try:
        trainer.model.load_state_dict(saved["model"])
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise CheckpointError(
            f"--init-from {path}: its weights do not fit this run's model (other sizes or "
            f"core?): {detail[:300]}"
        ) from err
    print(f"starting from the weights of {path} (trained on {saved.get('env_id', '?')})")


def end_epoch(
    run: Run, epoch: int, means: list[float], epoch_time: float, label: str = "", note: str = ""
) -> dict[str, Any]:
    """After ``epoch``: the schedule's step, the row (also returned), ``best.pt``, ``last.pt``.

    Args:
        run: the run.
        epoch: the epoch just trained (1-based).
        means: per-image means of ``run.trainer.metrics`` over the epoch.
        epoch_time: the epoch's training time (s).
        label: printed before ``epoch N:`` (which run, when several train together).
        note: printed after the time (``", all runs"``).
    """
    trainer, args, state = run.trainer, run.args, run.state
    learning_rate = run.optimization.learning_rate
    run.optimization.end_epoch()
    state.train_time_s += epoch_time
    row: dict[str, Any] = dict.fromkeys(columns(trainer), "")
    row.update(zip(trainer.metrics, means, strict=True))
    row.update(epoch=epoch, learning_rate=learning_rate, epoch_time_s=epoch_time)
    row["train_time_s"] = state.train_time_s
    row.update(trainer.evaluate(bool(args.eval_every and epoch % args.eval_every == 0)))
    if run.log is not None:
        run.log.write(row)
    shown = [k for k in (*trainer.metrics, *trainer.eval_columns) if row[k] != ""]
    values = ", ".join(f"{k} {row[k]:.4f}" for k in shown)
    print(f"{label + ' ' if label else ''}epoch {epoch}: {values} ({epoch_time:.1f}s{note})")
    state.epoch = epoch
    score = row[trainer.best_metric] if trainer.best_metric else ""
    if score != "" and score > state.best:
        state.best = score
        if run.best is not None:
            trainer.checkpoints.save(run.best, run.checkpoint())
    if run.last is not None:
        trainer.checkpoints.save(run.last, run.checkpoint())
    return row


def finish(run: Run, **extra: Any) -> dict[str, Any]:
    """The final test and ``results.json`` (its contents returned, with ``extra``); the paths
    written, a line each."""
    summary = {
        **run.trainer.test(),
        "epochs": run.args.epochs,
        "train_time_s": run.state.train_time_s,
        "device": str(torch.device(run.args.device)),
        **extra,
    }
    if run.out is not None and run.log is not None:
        write_json(run.out / "results.json", summary)
        written = [p for p in (run.last, run.best) if p is not None and p.is_file()]
        written += [run.log.path, run.log.tensorboard_dir, run.out / "results.json"]
        print_written(p for p in written if p is not None)
    return summary
