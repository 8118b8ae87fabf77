"""From a registered env id and overrides to the batched cores the trainer and evaluator step.

The kwargs are those ``gym.make(env_id, **overrides)`` would pass to the env, so a core made here
is the core of the env a user makes with the same id and kwargs.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym

import glimpse_env  # noqa: F401  (registers the GlimpseEnv-* ids)
from glimpse_env.config import GlimpseConfig
from glimpse_env.core import GlimpseCore

__all__ = ["env_kwargs", "make_core", "parse_json_kwargs"]


def parse_json_kwargs(text: str | None, flag: str = "--env-kwargs") -> dict[str, Any]:
    """A JSON object from the command line (None or '' -> {}); a clear error otherwise."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{flag} must be a JSON object, e.g. '{{\"clutter\": 4}}': {err}") from err
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return value


def env_kwargs(env_id: str, **overrides: Any) -> dict[str, Any]:
    """The registered kwargs of ``env_id`` updated with the overrides whose value is not None.

    Raises:
        ValueError: an unknown id (the message lists the GlimpseEnv ids) or an id that is not a
            glimpse env.
    """
    if env_id not in gym.registry:
        known = ", ".join(sorted(k for k in gym.registry if k.startswith("GlimpseEnv")))
        raise ValueError(f"unknown env id {env_id!r}; glimpse env ids: {known}")
    spec = gym.spec(env_id)
    if "glimpse_env" not in str(spec.entry_point):
        raise ValueError(f"{env_id!r} is not a glimpse env (entry point {spec.entry_point})")
    kwargs = dict(spec.kwargs)
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return kwargs


def make_core(kwargs: dict[str, Any]) -> GlimpseCore:
    """The batched core of an env made with ``kwargs`` (validated as ``gym.make`` would)."""
    return GlimpseCore(GlimpseConfig.from_kwargs(**kwargs))
