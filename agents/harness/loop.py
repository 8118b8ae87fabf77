"""The epoch loop every trainer here runs; a trainer brings only its model, loss and tests.

:func:`fit` does, in order:

1. check the arguments (:meth:`TrainArgs.check <agents.harness.args.TrainArgs.check>`) and make
   the trainer (its envs and model): every argument is checked before ``--out`` exists;
2. build the optimiser and learning-rate rule (:class:`~agents.harness.optimization.
   Optimization`) and the run's one generator, seeded with ``--seed``;
3. with ``--resume``, restore ``OUT/last.pt``: weights, optimiser, schedule, RNG states, epoch;
4. per epoch: the training images in a seeded order, in batches of ``--batch-size``;
   :meth:`Trainer.train_batch` gives the loss and the batch's metric sums; one gradient step
   each; then a row of per-image means and :meth:`Trainer.evaluate`'s entries to
   ``metrics.csv`` and TensorBoard, ``best.pt`` when ``Trainer.best_metric`` improves, and
   ``last.pt`` (atomic writes);
5. :meth:`Trainer.test` on the test split, ``results.json``, and a line per file written.

A trainer is any object with the attributes and methods of :class:`Trainer`;
:class:`BaseTrainer` gives the optional ones their defaults. See ``docs/training.md``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from torch import nn
from tqdm import tqdm

from agents.checkpoints import CheckpointFormat
from agents.harness.args import RUN_CONTROL, TrainArgs
from agents.harness.command import print_written
from agents.harness.metrics import MetricsLog
from agents.harness.optimization import Optimization
from agents.harness.resume import RunState, check_resumable, restore_rng, rng_state
from agents.harness.threads import torch_threads

__all__ = ["BaseTrainer", "Trainer", "epoch_batches", "fit", "train_epoch"]

POSTFIX_EVERY = 20
"""Steps between progress-bar updates (each reads the batch's metrics off the device)."""


class Trainer(Protocol):
    """What one agent's trainer hands the loop.

    Attributes:
        name: short name: TensorBoard tags (``name/loss``) and the progress bar.
        metrics: names of the sums :meth:`train_batch` returns, per-image quantities (the loop
            divides by the number of images); they are CSV columns, ``loss`` first.
        eval_columns: CSV columns :meth:`evaluate` may fill (``val_accuracy``, ...).
        best_metric: the column whose improvement writes ``best.pt``; None: no ``best.pt``.
        run_control: more fields of its ``Args`` a resumed run may change.
        checkpoints: its checkpoint format (tag, version, model builder).
        model: the module whose ``state_dict`` is the checkpoint's ``model``.
        num_images: training images per epoch.
    """

    name: str
    metrics: Sequence[str]
    eval_columns: Sequence[str]
    best_metric: str | None
    run_control: Sequence[str]
    checkpoints: CheckpointFormat
    model: nn.Module
    num_images: int

    def describe(self) -> str:
        """What is trained on what, for the first line printed."""
        ...

    def parameters(self) -> Iterable[nn.Parameter]:
        """What the optimiser trains."""
        ...

    def train_batch(
        self, index: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Play the images ``index`` ``(B,)``; ``(loss (), sums (len(metrics),))``: the loss to
        minimise and the batch's sums of the metrics (detached, float)."""
        ...

    def evaluate(self, test: bool) -> dict[str, float]:
        """After an epoch: entries of :attr:`eval_columns` (``test``: also the test split's)."""
        ...

    def checkpoint_info(self) -> dict[str, Any]:
        """Checkpoint entries besides the weights and training state: ``model_config``,
        ``env_id``, ``env_kwargs``, ``test_split``... (what its agent loads)."""
        ...

    def test(self) -> dict[str, Any]:
        """The final test (printed); the entries of ``results.json`` besides the loop's."""
        ...


class BaseTrainer:
    """Defaults of a :class:`Trainer`'s optional parts: no per-epoch evaluation, no ``best.pt``,
    the model's parameters trained, no run-control fields of its own."""

    eval_columns: Sequence[str] = ()
    best_metric: str | None = None
    run_control: Sequence[str] = ()
    model: nn.Module

    def parameters(self) -> Iterable[nn.Parameter]:
        return self.model.parameters()

    def evaluate(self, test: bool) -> dict[str, float]:
        return {}


T = TypeVar("T", bound=TrainArgs)


def epoch_batches(
    num_images: int,
    batch_size: int,
    generator: torch.Generator,
    desc: str = "",
    progress: bool = True,
    leave: bool = True,
) -> tqdm:
    """Every image index once, in an order drawn from ``generator``: a progress bar over
    ``(B,)`` index tensors on the generator's device (the last batch may be smaller)."""
    order = torch.randperm(num_images, generator=generator, device=generator.device)
    return tqdm(order.split(batch_size), desc=desc, disable=not progress, leave=leave)


def train_epoch(
    trainer: Trainer,
    optimization: Optimization,
    generator: torch.Generator,
    epoch: int,
    args: TrainArgs,
) -> list[float]:
    """One pass over the training images; the per-image means of ``trainer.metrics``."""
    sums = torch.zeros(len(trainer.metrics), device=generator.device)
    first_step = (epoch - 1) * math.ceil(trainer.num_images / args.batch_size)
    desc = f"{trainer.name} epoch {epoch}/{args.epochs}"
    bar = epoch_batches(trainer.num_images, args.batch_size, generator, desc, args.progress)
    for step, index in enumerate(bar):
        loss, batch_sums = trainer.train_batch(index, generator)
        optimization.step(loss, first_step + step)
        sums += batch_sums.detach()
        if args.progress and step % POSTFIX_EVERY == 0:
            means = (batch_sums / len(index)).tolist()
            shown = {k: f"{v:.3f}" for k, v in zip(trainer.metrics, means, strict=True)}
            bar.set_postfix({k: v for k, v in shown.items() if k in ("loss", "train_accuracy")})
    bar.close()
    return (sums / trainer.num_images).tolist()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _resume(
    args: TrainArgs,
    trainer: Trainer,
    optimization: Optimization,
    generator: torch.Generator,
    last: Path,
) -> RunState:
    """Restore the run in ``last`` (weights, optimiser, schedule, RNGs); a fresh state if none."""
    if not last.is_file():
        print(f"--resume: no {last} yet, starting afresh")
        return RunState()
    saved = trainer.checkpoints.load(last, device="cpu")  # RNG states must stay on the CPU
    check_resumable(saved.get("args", {}), args, last, (*RUN_CONTROL, *trainer.run_control))
    state = RunState.from_checkpoint(saved, last)
    trainer.model.load_state_dict(saved["model"])
    optimization.load_state_dict(saved)
    restore_rng(saved["rng"], generator)
    print(f"resuming {last} after epoch {state.epoch}")
    return state


def fit(args: T, make_trainer: Callable[[T], Trainer]) -> dict[str, Any]:
    """Train ``make_trainer(args)`` as ``args`` says; returns the contents of ``results.json``.

    ``args.out`` None writes no file (no checkpoints, metrics or results).

    Raises:
        ValueError: an argument no run can use, an unknown env, bad JSON... (before ``--out``
            is made); :class:`~agents.checkpoints.CheckpointError` (a ValueError) for a
            ``--resume`` whose checkpoint is of other arguments or unreadable.
    """
    args.check()
    with torch_threads(args.threads):
        trainer = make_trainer(args)
        return _fit(args, trainer)


def _fit(args: TrainArgs, trainer: Trainer) -> dict[str, Any]:
    device = torch.device(args.device)
    optimization = Optimization(trainer.parameters(), args)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    out = Path(args.out) if args.out is not None else None
    last, best = (out / "last.pt", out / "best.pt") if out is not None else (None, None)
    state = RunState()
    if last is not None and args.resume:
        state = _resume(args, trainer, optimization, generator, last)

    log = None
    columns = ["epoch", "learning_rate", *trainer.metrics, *trainer.eval_columns]
    columns += ["epoch_time_s", "train_time_s"]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        log = MetricsLog(out, columns, trainer.name, state.epoch, args.tensorboard)

    def checkpoint(epoch: int) -> dict[str, Any]:
        return {
            **trainer.checkpoint_info(),
            "model": trainer.model.state_dict(),
            "args": asdict(args),
            "epoch": epoch,
            "best": state.best,
            "train_time_s": state.train_time_s,
            **optimization.state_dict(),
            "rng": rng_state(generator),
        }

    print(f"training {trainer.describe()} on {device}")
    try:
        for epoch in range(state.epoch + 1, args.epochs + 1):
            started = time.perf_counter()
            means = train_epoch(trainer, optimization, generator, epoch, args)
            learning_rate = optimization.learning_rate
            optimization.end_epoch()
            epoch_time = time.perf_counter() - started
            state.train_time_s += epoch_time

            row: dict[str, Any] = dict.fromkeys(columns, "")
            row.update(zip(trainer.metrics, means, strict=True))
            row.update(epoch=epoch, learning_rate=learning_rate, epoch_time_s=epoch_time)
            row["train_time_s"] = state.train_time_s
            row.update(trainer.evaluate(bool(args.eval_every and epoch % args.eval_every == 0)))
            if log is not None:
                log.write(row)
            shown = [k for k in (*trainer.metrics, *trainer.eval_columns) if row[k] != ""]
            values = ", ".join(f"{k} {row[k]:.4f}" for k in shown)
            print(f"epoch {epoch}: {values} ({epoch_time:.1f}s)")
            state.epoch = epoch
            score = row[trainer.best_metric] if trainer.best_metric else ""
            if score != "" and score > state.best:
                state.best = score
                if best is not None:
                    trainer.checkpoints.save(best, checkpoint(epoch))
            if last is not None:
                trainer.checkpoints.save(last, checkpoint(epoch))
    finally:
        if log is not None:
            log.close()

    summary = {
        **trainer.test(),
        "epochs": args.epochs,
        "train_time_s": state.train_time_s,
        "device": str(device),
    }
    if out is not None and log is not None:
        _write_json(out / "results.json", summary)
        written = [p for p in (last, best) if p is not None and p.is_file()]
        written += [log.path, log.tensorboard_dir, out / "results.json"]
        print_written(p for p in written if p is not None)
    return summary
