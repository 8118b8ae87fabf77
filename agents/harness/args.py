"""The arguments every trainer shares, as dataclasses that each trainer extends with its own.

A trainer's ``Args`` subclasses :class:`TrainArgs` (or :class:`EnvArgs` when it has no epochs,
like the SB3 trainer), adds the fields that are its own, and may redeclare a shared field to
change its default (``epochs: int = 200``); the command line comes from the fields
(:func:`glimpse_env.commands.cli_args.parse_args`), the help from the strings under them.
Fields are keyword-only, so a subclass may add fields without defaults.

>>> from dataclasses import dataclass
>>> @dataclass(kw_only=True)
... class Args(TrainArgs):
...     hidden: int = 64
...     '''Width of the hidden layer.'''
>>> Args(epochs=3).epochs, Args().hidden, Args().split
(3, 64, 'test[:8000]')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from glimpse_env.commands.cli_args import parse_json_object
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["RUN_CONTROL", "EnvArgs", "RunArgs", "TrainArgs", "config_from_args"]

C = TypeVar("C")

RUN_CONTROL = ("resume", "out", "progress", "tensorboard", "eval_every", "threads")
"""Fields of :class:`TrainArgs` that may differ between a run and its resumption: they do not
change the weights. A trainer adds its own (``Trainer.run_control``)."""


@dataclass(kw_only=True)
class _EnvFields:
    env: str = "GlimpseEnv-v0"
    """The env id (GlimpseEnv-v0, GlimpseEnv-translated60-v0, GlimpseEnv-cluttered60-v0, ...)."""
    split: str = SHARED_TRAIN_SPLIT
    """The training split ('train' where the full set is on disk; offline: test[:8000])."""
    test_split: str = SHARED_TEST_SPLIT
    """The split tested at the end (every image once, fixed canvases): 'test', or test[8000:]."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA, else a per-user cache."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object, e.g. '{"num_glimpses": 4}'."""


@dataclass(kw_only=True)
class RunArgs:
    """Where and how a command computes: the seed, the torch device, the CPU threads."""

    seed: int = 1
    """Seed of the initialisation, the image order, the canvases and the samples."""
    device: str = "cpu"
    """torch device: cpu or cuda."""
    threads: int | None = None
    """torch CPU threads (default: torch's)."""


@dataclass(kw_only=True)
class EnvArgs(RunArgs, _EnvFields):
    """A command that runs on a registered env: its id, splits, data and kwargs, and the device."""

    def env_overrides(self) -> dict[str, Any]:
        """``--env-kwargs`` with ``--split`` and ``--data-root`` on top (ValueError: bad JSON)."""
        overrides = parse_json_object(self.env_kwargs, "--env-kwargs")
        overrides["split"] = self.split
        if self.data_root is not None:
            overrides["data_root"] = self.data_root
        return overrides

    def resolve_env_kwargs(self, **extra: Any) -> dict[str, Any]:
        """The training env's kwargs: the id's preset, :meth:`env_overrides`, then ``extra``.

        Overrides whose value is None are left out ("not given"). Raises ValueError for an
        unknown id or bad JSON, before anything is made.
        """
        overrides = {**self.env_overrides(), **extra}
        return registered_env_kwargs(
            self.env, **{k: v for k, v in overrides.items() if v is not None}
        )


@dataclass(kw_only=True)
class TrainArgs(EnvArgs):
    """An epoch trainer's arguments: schedule, output folder, resume, progress and logs."""

    epochs: int = 10
    """Passes over the training split."""
    batch_size: int = 128
    """Episodes (images) per gradient step."""
    learning_rate: float = 1e-3
    """Adam's learning rate at the start of the schedule (at --lr-reference-batch)."""
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    """Learning-rate schedule over the epochs."""
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"
    """Scale --learning-rate by (batch_size / lr_reference_batch) or its square root."""
    lr_reference_batch: int = 128
    """The batch size --learning-rate is meant for (with --lr-scaling)."""
    lr_warmup: int = 0
    """Gradient steps over which the learning rate rises linearly to the schedule's (0: none)."""
    max_grad_norm: float = 0.0
    """Clip the gradient's global norm to this (0: no clipping)."""
    eval_every: int = 0
    """Test on --test-split every N epochs for the learning curve (0: only at the end)."""
    out: str | None = "runs/train"
    """Output folder: last.pt, best.pt, metrics.csv, tensorboard/, results.json."""
    resume: bool = False
    """Continue from OUT/last.pt (same arguments), or start afresh if there is none."""
    init_from: str | None = None
    """Start from this checkpoint's weights (fine-tuning, or a trainer's next phase) with a
    fresh optimiser and schedule; the model must have the same sizes."""
    progress: bool = True
    """Show a progress bar per epoch."""
    tensorboard: bool = True
    """Write TensorBoard scalars to OUT/tensorboard (needs the tensorboard package)."""

    def check(self) -> None:
        """Refuse values no run can use, with one line naming the flag (ValueError)."""
        positive = {
            "--batch-size": self.batch_size,
            "--lr-reference-batch": self.lr_reference_batch,
        }
        for flag, value in positive.items():
            if value < 1:
                raise ValueError(f"{flag} must be >= 1, got {value}")
        at_least_zero = {
            "--epochs": self.epochs,
            "--lr-warmup": self.lr_warmup,
            "--max-grad-norm": self.max_grad_norm,
            "--eval-every": self.eval_every,
        }
        for flag, value in at_least_zero.items():
            if value < 0:
                raise ValueError(f"{flag} must be >= 0, got {value}")
        if not self.learning_rate > 0:
            raise ValueError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if self.out is None and self.resume:
            raise ValueError("--resume continues OUT/last.pt: give --out")
        if self.out is not None and Path(self.out).exists() and not Path(self.out).is_dir():
            raise ValueError(f"--out {self.out} is a file; the output must be a folder")


def config_from_args(config_class: type[C], args: Any, **given: Any) -> C:
    """A dataclass ``config_class`` whose fields named like a field of ``args`` take its value.

    ``given`` sets the others (and wins over ``args``); the rest keep their defaults.

    >>> @dataclass
    ... class Sizes:
    ...     hidden_size: int = 8
    ...     num_classes: int = 2
    ...     depth: int = 1
    >>> config_from_args(Sizes, TrainArgs(), num_classes=10)
    Sizes(hidden_size=8, num_classes=10, depth=1)
    >>> @dataclass(kw_only=True)
    ... class Args(TrainArgs):
    ...     hidden_size: int = 64
    >>> config_from_args(Sizes, Args(), num_classes=10)
    Sizes(hidden_size=64, num_classes=10, depth=1)
    """
    names = {f.name for f in dataclasses.fields(args)}
    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(config_class)  # type: ignore[arg-type]
        if f.name in names
    }
    return config_class(**{**values, **given})
