"""Checkpoints of every agent here: tagged dicts of tensors, written atomically, loaded safely.

A checkpoint is a plain dict (tensors, numbers, strings, lists, dicts) with a ``format`` tag
naming the agent and a ``version``. :func:`save_checkpoint` writes it to a temp file and renames
it into place, so a reader never sees half a file and a crash keeps the old one;
:func:`load_checkpoint` reads it with ``torch.load(..., weights_only=True)`` (no code runs) and
checks the tag, the version and the entries the agent needs; :func:`rebuild_model` turns the
stored config and weights back into a module. Each agent's ``checkpoint`` module declares one
:class:`CheckpointFormat` (tag, version, required entries, how to build the model), which the
training harness (:mod:`agents.harness`) writes and resumes through.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = [
    "CheckpointError",
    "CheckpointFormat",
    "load_checkpoint",
    "rebuild_model",
    "save_checkpoint",
]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, is of another agent or version, or does not fit."""


def save_checkpoint(path: str | Path, payload: dict[str, Any], format: str, version: int) -> None:
    """Write ``payload`` tagged ``format`` and ``version`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save({**payload, "format": format, "version": version}, tmp)
    os.replace(tmp, path)


def load_checkpoint(
    path: str | Path,
    format: str,
    version: int,
    required: Sequence[str],
    device: str | torch.device = "cpu",
    kind: str = "a glimpse-env",
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check its tag, version and entries.

    ``kind`` names the expected checkpoint in errors: "is not {kind} checkpoint".

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is corrupt or truncated, of another format or version, or
            lacks entries; the message names the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # corrupt zips, pickles and foreign objects raise many types
        first_line = str(err).splitlines()[0] if str(err) else ""
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt, truncated or not a torch "
            f"checkpoint ({type(err).__name__}: {first_line})"
        ) from err
    found = data.get("format") if isinstance(data, dict) else type(data).__name__
    if found != format:
        raise CheckpointError(
            f"{path} is not {kind} checkpoint (expected format {format!r}, got {found!r})"
        )
    if data.get("version") != version:
        raise CheckpointError(
            f"{path} has checkpoint version {data.get('version')!r}; this code reads {version}"
        )
    missing = [k for k in required if k not in data]
    if missing:
        raise CheckpointError(f"{path} lacks the entries {missing}")
    return data


def rebuild_model(
    data: dict[str, Any],
    build: Callable[[dict[str, Any]], nn.Module],
    device: str | torch.device = "cpu",
    source: str = "checkpoint",
) -> nn.Module:
    """``build(data["model_config"])`` with ``data["model"]``'s weights, on ``device``.

    Raises:
        CheckpointError: the config is malformed or the weights do not fit it.
    """
    try:
        model = build(data["model_config"])
        model.load_state_dict(data["model"])
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(
            f"{source}: the model weights do not match its config: {err}"
        ) from err
    return model.to(device)


@dataclass(frozen=True)
class CheckpointFormat:
    """One agent's checkpoint format: its tag, version, required entries and model builder.

    Attributes:
        tag: the ``format`` entry, e.g. ``"glimpse-env/ram"``.
        version: the ``version`` entry this code reads and writes.
        required: entries a checkpoint must hold to be loaded.
        kind: how errors name the expected file: "is not {kind} checkpoint".
        build: ``model_config`` dict -> a fresh module of that config.
    """

    tag: str
    version: int
    required: tuple[str, ...]
    kind: str
    build: Callable[[dict[str, Any]], nn.Module]

    def save(self, path: str | Path, payload: dict[str, Any]) -> None:
        """Write ``payload`` under this format's tag to ``path`` atomically."""
        save_checkpoint(path, payload, self.tag, self.version)

    def load(self, path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
        """Read and check a checkpoint of this format (see :func:`load_checkpoint`)."""
        return load_checkpoint(path, self.tag, self.version, self.required, device, self.kind)

    def load_model(
        self, data: dict[str, Any], device: str | torch.device = "cpu", source: str = "checkpoint"
    ) -> nn.Module:
        """The model of a loaded checkpoint (see :func:`rebuild_model`)."""
        return rebuild_model(data, self.build, device, source)
