"""RAM checkpoints: plain dicts of tensors and primitives, written atomically, loaded safely.

A checkpoint loads with ``torch.load(path, weights_only=True)``: it holds the model's weights,
its :class:`~agents.ram.model.RAMConfig` as a plain dict, the env id and kwargs it was trained
on, and, for ``--resume``, the optimizer, the scheduler, the RNG states and the epoch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from agents.ram.model import RAMConfig, RecurrentAttentionModel

__all__ = ["FORMAT", "CheckpointError", "load_checkpoint", "load_model", "save_checkpoint"]

FORMAT = "glimpse-env/ram"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "model_config", "model", "env_id", "env_kwargs", "epoch")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, is not a RAM checkpoint, or does not fit."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (plus the format tag) to ``path`` atomically: a temp file, then rename.

    A reader never sees a half-written file, and a crash mid-write leaves the old one intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check that it is a RAM checkpoint.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is corrupt, truncated, not a RAM checkpoint, or of an
            unknown version; the message names the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # corrupt zips, pickles and foreign objects raise many types
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt, truncated or not a torch "
            f"checkpoint ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
        ) from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a glimpse-env RAM checkpoint (expected format {FORMAT!r}, got "
            f"{data.get('format') if isinstance(data, dict) else type(data).__name__!r})"
        )
    if data.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {data.get('version')!r}; this code reads {VERSION}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path} lacks the entries {missing}")
    return data


def load_model(
    data: dict[str, Any], device: str | torch.device = "cpu", source: str = "checkpoint"
) -> RecurrentAttentionModel:
    """Rebuild the model from a loaded checkpoint's config and weights.

    Raises:
        CheckpointError: the config is malformed or the weights do not fit it.
    """
    try:
        config = RAMConfig.from_dict(data["model_config"])
        model = RecurrentAttentionModel(config)
        model.load_state_dict(data["model"])
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(
            f"{source}: the model weights do not match its config: {err}"
        ) from err
    return model.to(device)
