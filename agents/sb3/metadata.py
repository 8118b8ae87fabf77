"""What a saved SB3 model needs besides SB3's zip to act in a glimpse env (no SB3 import here).

:func:`agents.sb3.policy.save_model` writes :class:`SB3Metadata` as the zip member
``glimpse_env.json``; :func:`can_load` peeks for it, cheaply, for ``glimpse-env gif``'s loader
table (:mod:`glimpse_env.commands.policies`).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["METADATA_NAME", "SB3Metadata", "can_load", "read_metadata"]

METADATA_NAME = "glimpse_env.json"
"""The zip member that holds :class:`SB3Metadata`."""


@dataclass(frozen=True)
class SB3Metadata:
    """How to read a saved SB3 model's actions and observations.

    Attributes:
        algo: the name in :data:`agents.sb3.algos.ALGOS` (``ppo``, ``a2c``, ``dqn``, ...).
        action: ``"flat"`` or ``"discrete"``.
        num_classes: n.
        logit_scale: flat actions' logit scale.
        confidence: discrete actions' class logit.
        grid: discrete actions' ``(G*G, 2)`` locations (empty for flat actions).
        frame_stack: observations stacked per decision (0: none).
        early_stop: the env had a stop action (flat actions only).
        env_id: the env it was trained on.
        env_kwargs: that env's JSON-able kwargs.
        test_split: the held-out split ``glimpse-env train`` tested it on (gif shows that one).
        model: what it takes to rebuild the SB3 model without unpickling (the policy class,
            spaces, policy kwargs and hyperparameters as JSON, see
            :func:`agents.sb3.model_spec.describe_model`); filled by ``save_model``.
    """

    algo: str
    action: str
    num_classes: int
    logit_scale: float = 10.0
    confidence: float = 10.0
    grid: list[list[float]] = field(default_factory=list)
    frame_stack: int = 0
    early_stop: bool = False
    env_id: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None
    test_split: str | None = None


def read_metadata(path: str | os.PathLike) -> SB3Metadata:
    """The :class:`SB3Metadata` of a model saved by :func:`agents.sb3.policy.save_model`.

    Raises:
        ValueError: not a zip, a zip without the metadata member, or a malformed member.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            values = json.loads(archive.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError, OSError) as err:
        raise ValueError(
            f"{path} is not an SB3 model saved by glimpse-env (no {METADATA_NAME} in the zip); "
            "train one with `glimpse-env train ppo|a2c|dqn|recurrent_ppo`"
        ) from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: {METADATA_NAME} is not JSON ({err})") from err
    names = {f.name for f in fields(SB3Metadata)}
    if not isinstance(values, dict) or not set(values) <= names:
        unknown = sorted(set(values) - names) if isinstance(values, dict) else values
        raise ValueError(f"{path}: {METADATA_NAME} has unknown fields {unknown!r:.80}")
    try:
        return SB3Metadata(**values)
    except TypeError as err:
        raise ValueError(f"{path}: {METADATA_NAME} lacks fields ({err})") from err


def can_load(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a zip saved by ``agents.sb3.policy.save_model`` (a cheap peek)."""
    path = Path(path)
    if path.suffix != ".zip" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return METADATA_NAME in archive.namelist()
    except zipfile.BadZipFile:
        return False
