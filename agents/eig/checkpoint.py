"""EIG checkpoints: plain dicts of tensors and primitives, written atomically, loaded safely.

Written with :func:`agents.checkpoints.save_checkpoint` (a temp file, then ``os.replace``) under
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

from agents import checkpoints
from agents.checkpoints import CheckpointError
from agents.eig.model import EIGConfig, EIGModel

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


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with the EIG format tag to ``path`` atomically."""
    checkpoints.save_checkpoint(path, payload, FORMAT, VERSION)


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
    return checkpoints.load_checkpoint(path, FORMAT, VERSION, REQUIRED_KEYS, device, kind="an EIG")


def load_model(
    data: dict[str, Any], device: str | torch.device = "cpu", source: str = "checkpoint"
) -> EIGModel:
    """Rebuild the model from a loaded checkpoint's config and weights.

    Raises:
        CheckpointError: the config is malformed or the weights do not fit it.
    """
    build = lambda config: EIGModel(EIGConfig.from_dict(config))  # noqa: E731
    return checkpoints.rebuild_model(data, build, device, source)
