"""EIG checkpoints: plain dicts of tensors and primitives, written atomically, loaded safely.

Written with :func:`agents.ram.checkpoint.save_checkpoint` (a temp file, then ``os.replace``) under
this agent's own format tag, and read with ``torch.load(path, weights_only=True)``. A checkpoint
holds the model's weights and :class:`~agents.eig.model.EIGConfig`, the env id and kwargs it was
trained on, the training phase, and, for ``--resume``, the optimizer, scheduler, RNG states and
epoch.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from agents.eig.model import EIGConfig, EIGModel
from agents.ram.checkpoint import save_checkpoint as _save_atomically

__all__ = [
    "FORMAT",
    "CheckpointError",
    "is_eig_checkpoint",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
]

FORMAT = "glimpse-env/eig"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "model_config", "model", "env_id", "env_kwargs", "phase")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, is not an EIG checkpoint, or does not fit."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with the EIG format tag to ``path`` atomically."""
    _save_atomically(path, {**payload, "format": FORMAT, "version": VERSION})


def is_eig_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is an EIG checkpoint, by a peek at its pickle (no torch import)."""
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.split("/")[-1] == "data.pkl"]
        return bool(names) and FORMAT.encode() in archive.read(names[0])


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check that it is an EIG checkpoint.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: corrupt, foreign, or of an unknown version (the message says which).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # corrupt zips, pickles and foreign objects raise many types
        raise CheckpointError(f"cannot read checkpoint {path}: {type(err).__name__}") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not an EIG checkpoint (format {found!r}, not {FORMAT!r})")
    if data.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has version {data.get('version')!r}; this code reads {VERSION}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path} lacks the entries {missing}")
    return data


def load_model(
    data: dict[str, Any], device: str | torch.device = "cpu", source: str = "checkpoint"
) -> EIGModel:
    """Rebuild the model from a loaded checkpoint's config and weights.

    Raises:
        CheckpointError: the config is malformed or the weights do not fit it.
    """
    try:
        model = EIGModel(EIGConfig.from_dict(data["model_config"]))
        model.load_state_dict(data["model"])
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(
            f"{source}: the weights do not match the model config: {err}"
        ) from err
    return model.to(device)
