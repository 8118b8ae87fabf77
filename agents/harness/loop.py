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

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import torch
from torch import nn
from tqdm import tqdm

from agents.checkpoints import CheckpointFormat
from agents.harness.args import TrainArgs
from agents.harness.optimization import Optimization
from agents.harness.run import end_epoch, finish, open_run, write_json
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


_write_json = write_json  # the name agents.ram.multirun imports


def fit(
    args: T,
    make_trainer: Callable[[T], Trainer],
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``make_trainer(args)`` as ``args`` says; returns the contents of ``results.json``.

    ``args.out`` None writes no file (no checkpoints, metrics or results). ``on_epoch`` gets
    each epoch's row of ``metrics.csv`` (a dict) as the epoch ends.

    Raises:
        ValueError: an argument no run can use, an unknown env, bad JSON... (before ``--out``
            is made); :class:`~agents.checkpoints.CheckpointError` (a ValueError) for a
            ``--resume`` whose checkpoint is of other arguments or unreadable.
    """
    args.check()
    with torch_threads(args.threads):
        trainer = make_trainer(args)
        return _fit(args, trainer, on_epoch)


def _fit(
    args: TrainArgs,
    trainer: Trainer,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    run = open_run(args, trainer)
    print(f"training {trainer.describe()} on {torch.device(args.device)}")
    try:
        for epoch in range(run.state.epoch + 1, args.epochs + 1):
            started = time.perf_counter()
            means = train_epoch(trainer, run.optimization, run.generator, epoch, args)
            row = end_epoch(run, epoch, means, time.perf_counter() - started)
            if on_epoch is not None:
                on_epoch(row)
    finally:
        if run.log is not None:
            run.log.close()
    return finish(run)
