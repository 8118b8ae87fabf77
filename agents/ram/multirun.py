"""Several runs trained at once in one process, each exactly as it would train alone.

:func:`fit_runs` is the harness's epoch loop (:func:`agents.harness.fit`) for ``R`` runs in
lockstep. What the runs share is one *joint* step: a function that plays every run's batch and
returns their losses, so that one backward pass serves them all (for RAM, one stacked rollout:
:func:`agents.ram.train.joint_train_batch`). Everything else is each run's own, as in the
harness: its arguments (seed, env), trainer (model, cores), optimiser and learning-rate rule
(:class:`~agents.harness.optimization.Optimization`), generator, metrics files, ``last.pt``,
``best.pt``, final test and ``results.json``. The total loss is the sum of the runs' losses, so
run ``r``'s gradient is that of its own loss, and each run's checkpoint is a single-run
checkpoint: a run trained with others resumes alone (and the other way round).

Lockstep: epoch ``e`` trains the runs whose ``last.pt`` ends before ``e`` (after a resume, a run
that is behind trains alone until it catches up), every run drawing its image order, canvases
and samples from its own generator in the order the single-run loop does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from tqdm import tqdm

from agents.harness.args import TrainArgs
from agents.harness.loop import Trainer
from agents.harness.run import Run, end_epoch, finish, open_run
from agents.harness.threads import torch_threads

__all__ = ["JointBatch", "fit_runs"]

JointBatch = Callable[
    [Sequence[Trainer], Sequence[torch.Tensor], Sequence[torch.Generator]],
    tuple[torch.Tensor, torch.Tensor],
]
"""``(trainers, indexes, generators) -> (losses (R,), sums (R, len(metrics)))``: play run
``r``'s images ``indexes[r]`` ``(B,)`` with ``generators[r]``; run ``r``'s loss and metric sums."""

A = TypeVar("A", bound=TrainArgs)


def fit_runs(
    runs_args: Sequence[A],
    make_trainer: Callable[[A], Trainer],
    joint_batch: JointBatch,
) -> list[dict[str, Any]]:
    """Train the runs ``runs_args`` describe together; the contents of each ``results.json``.

    The runs must share the schedule (epochs, batch size), the device and the number of
    training images; seeds, env ids and anything else may differ (``joint_batch`` says what it
    can step together).

    Raises:
        ValueError: as :func:`agents.harness.fit` does, or runs that cannot be trained in
            lockstep.
    """
    if not runs_args:
        raise ValueError("no runs to train")
    first = runs_args[0]
    for args in runs_args:
        args.check()
        for name in ("epochs", "batch_size", "device", "threads"):
            if getattr(args, name) != getattr(first, name):
                raise ValueError(
                    f"runs trained together must share --{name.replace('_', '-')} "
                    f"({getattr(first, name)!r} vs {getattr(args, name)!r})"
                )
    outs = [Path(a.out).resolve() for a in runs_args if a.out is not None]
    if len(set(outs)) != len(outs):
        raise ValueError("runs trained together need one output folder each")
    with torch_threads(first.threads):
        trainers = [make_trainer(args) for args in runs_args]
        sizes = {t.num_images for t in trainers}
        if len(sizes) != 1:
            raise ValueError(
                f"runs trained together need the same number of training images, got {sizes}"
            )
        runs = [open_run(args, trainer) for args, trainer in zip(runs_args, trainers, strict=True)]
        try:
            _train(runs, joint_batch, first)
        finally:
            for run in runs:
                if run.log is not None:
                    run.log.close()
        return [finish(run, trained_together=True) for run in runs]


def _train(runs: list[Run], joint_batch: JointBatch, args: TrainArgs) -> None:
    num_images = runs[0].trainer.num_images
    steps_per_epoch = math.ceil(num_images / args.batch_size)
    names = [f"{run.trainer.name} {run.args.env} seed {run.args.seed}" for run in runs]
    print(f"training {len(runs)} runs together on {args.device}:")
    for run in runs:
        print(f"  {run.trainer.describe()}, seed {run.args.seed}")
    for epoch in range(min(run.state.epoch for run in runs) + 1, args.epochs + 1):
        active = [i for i, run in enumerate(runs) if run.state.epoch < epoch]
        started = time.perf_counter()
        orders = [
            torch.randperm(num_images, generator=runs[i].generator, device=runs[i].generator.device)
            for i in active
        ]
        sums = torch.zeros(len(active), len(runs[0].trainer.metrics), device=orders[0].device)
        batches = zip(*(order.split(args.batch_size) for order in orders), strict=True)
        desc = f"{len(active)} runs, epoch {epoch}/{args.epochs}"
        bar = tqdm(batches, desc=desc, total=steps_per_epoch, disable=not args.progress)
        for step, indexes in enumerate(bar):
            for i in active:
                runs[i].optimization.optimizer.zero_grad(set_to_none=True)
            losses, batch_sums = joint_batch(
                [runs[i].trainer for i in active], indexes, [runs[i].generator for i in active]
            )
            losses.sum().backward()
            for i in active:
                runs[i].optimization.apply((epoch - 1) * steps_per_epoch + step)
            sums += batch_sums.detach()
        bar.close()
        epoch_time = time.perf_counter() - started
        for i, means in zip(active, (sums / num_images).tolist(), strict=True):
            end_epoch(runs[i], epoch, means, epoch_time, label=names[i], note=", all runs")
