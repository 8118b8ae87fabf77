"""Exact resumption: what a run keeps in ``last.pt`` besides its weights, and when it may resume.

A resumed run ends with exactly the weights of an uninterrupted one (same seed, CPU): the
checkpoint holds the model, the optimiser and schedule (:class:`~agents.harness.optimization.
Optimization`), the global torch RNG and the run's generator, the epoch, the best score and the
training time, and the run's arguments, which must match the new invocation's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agents.checkpoints import CheckpointError

__all__ = ["RESUME_KEYS", "RunState", "check_resumable", "restore_rng", "rng_state"]

RESUME_KEYS = ("optimizer", "scheduler", "rng", "train_time_s")
"""Entries a checkpoint needs, besides the agent's own, to be resumed."""


@dataclass
class RunState:
    """How far a run has got: the last finished epoch, the best score, the training time."""

    epoch: int = 0
    best: float = -1.0
    train_time_s: float = 0.0

    @classmethod
    def from_checkpoint(cls, saved: dict[str, Any], path: Path) -> RunState:
        """The state stored in ``saved`` (CheckpointError naming what a resume lacks)."""
        missing = [k for k in RESUME_KEYS if k not in saved]
        if missing:
            raise CheckpointError(f"cannot resume {path}: it lacks {missing}")
        return cls(saved["epoch"], saved.get("best", -1.0), saved["train_time_s"])


def rng_state(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The global torch RNG's state and ``generator``'s (both CPU byte tensors)."""
    return {"torch": torch.get_rng_state(), "generator": generator.get_state()}


def restore_rng(saved: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    """Set the global torch RNG and ``generator`` to the states of :func:`rng_state`."""
    torch.set_rng_state(saved["torch"])
    generator.set_state(saved["generator"])


def _default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def check_resumable(saved: dict[str, Any], args: Any, path: Path, ignore: Iterable[str]) -> None:
    """Refuse to resume a run whose saved arguments differ from ``args`` (a dataclass).

    A field the saved arguments lack (a flag added since the run started) counts as its
    default, so old checkpoints resume as long as the new flags keep their defaults.

    Args:
        saved: the arguments stored in the checkpoint.
        args: the arguments of this invocation.
        path: the checkpoint (named in the error).
        ignore: fields that do not change the result (progress bars, threads, time limits...).

    Raises:
        CheckpointError: naming every changed argument with its old and new value.
    """
    skip = set(ignore)
    changed = {}
    for field in dataclasses.fields(args):
        value = getattr(args, field.name)
        old = saved.get(field.name, _default(field))
        if field.name not in skip and old != value:
            changed[field.name] = (old, value)
    if changed:
        details = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise CheckpointError(
            f"cannot resume {path}: it was trained with other arguments ({details}); use the "
            f"same arguments, or another --out"
        )
