"""RAM checkpoints: plain dicts of tensors and primitives, written atomically, loaded safely.

A checkpoint loads with ``torch.load(path, weights_only=True)``: it holds the model's weights,
its :class:`~agents.ram.model.RAMConfig` as a plain dict, the env id and kwargs it was trained
on, and, for ``--resume``, the optimizer, the scheduler, the RNG states and the epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from agents import checkpoints
from agents.checkpoints import CheckpointError
from agents.ram.model import RAMConfig, RecurrentAttentionModel

__all__ = ["FORMAT", "CheckpointError", "load_checkpoint", "load_model", "save_checkpoint"]

FORMAT = "glimpse-env/ram"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "model_config", "model", "env_id", "env_kwargs", "epoch")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with the RAM format tag to ``path`` atomically (temp file, then rename).

    A reader never sees a half-written file, and a crash mid-write leaves the old one intact.
    """
    checkpoints.save_checkpoint(path, payload, FORMAT, VERSION)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check that it is a RAM checkpoint.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is corrupt, truncated, not a RAM checkpoint, or of an
            unknown version; the message names the file and what is wrong.
    """
    return checkpoints.load_checkpoint(
        path, FORMAT, VERSION, REQUIRED_KEYS, device, kind="a glimpse-env RAM"
    )


def load_model(
    data: dict[str, Any], device: str | torch.device = "cpu", source: str = "checkpoint"
) -> RecurrentAttentionModel:
    """Rebuild the model from a loaded checkpoint's config and weights.

    Raises:
        CheckpointError: the config is malformed or the weights do not fit it.
    """
    build = lambda config: RecurrentAttentionModel(RAMConfig.from_dict(config))  # noqa: E731
    return checkpoints.rebuild_model(data, build, device, source)
