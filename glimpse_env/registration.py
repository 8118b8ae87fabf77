"""The table of registered ids: presets of :class:`~glimpse_env.core.config.GlimpseConfig`.

The MNIST presets follow Mnih et al. 2014 (Tables 1-2); the colour presets follow Rangrej &
Clark, BMVC 2021 (8x8 glimpses on 32x32 images). Every field stays a ``gym.make`` kwarg.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["PRESETS", "env_kwargs", "register_envs"]

_MNIST = {"num_glimpses": 6, "patch_size": 8, "num_scales": 1}
_TRANSLATED = {"canvas_size": 60, "num_glimpses": 8, "patch_size": 12, "num_scales": 3}
_COLOUR = {"num_glimpses": 8, "patch_size": 8, "num_scales": 1}

PRESETS: dict[str, dict[str, Any]] = {
    "GlimpseEnv-v0": {"dataset": "mnist", **_MNIST},
    "GlimpseEnv-translated60-v0": {"dataset": "mnist", **_TRANSLATED},
    "GlimpseEnv-cluttered60-v0": {"dataset": "mnist", **_TRANSLATED, "clutter": 4},
    "GlimpseEnv-cluttered100-v0": {
        "dataset": "mnist",
        **_TRANSLATED,
        "canvas_size": 100,
        "clutter": 8,
        "num_scales": 4,
    },
    "GlimpseEnv-fashion-v0": {"dataset": "fashion", **_MNIST},
    "GlimpseEnv-kmnist-v0": {"dataset": "kmnist", **_MNIST},
    "GlimpseEnv-cifar10-v0": {"dataset": "cifar10", **_COLOUR},
    "GlimpseEnv-svhn-v0": {"dataset": "svhn", **_COLOUR},
}
"""id -> the kwargs it stands for."""


def register_envs() -> None:
    """Register every preset with gymnasium (idempotent)."""
    for env_id, kwargs in PRESETS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="glimpse_env.faces.env:GlimpseEnv",
            vector_entry_point="glimpse_env.faces.vector:GlimpseVectorEnv",
            kwargs=dict(kwargs),
        )


def env_kwargs(env_id: str, **overrides: Any) -> dict[str, Any]:
    """The kwargs ``gym.make(env_id, **overrides)`` passes to the env: the id's, then overrides.

    Works for any registered glimpse env id, the presets and ids users register themselves.

    >>> env_kwargs("GlimpseEnv-v0", split="test")["num_glimpses"]
    6

    Raises:
        ValueError: an unknown id (the message lists the glimpse env ids) or an id that is not a
            glimpse env.
    """
    if env_id not in gym.registry:
        known = ", ".join(sorted(k for k in gym.registry if k.startswith("GlimpseEnv")))
        raise ValueError(f"unknown env id {env_id!r}; glimpse env ids: {known}")
    spec = gym.spec(env_id)
    if "glimpse_env" not in str(spec.entry_point):
        raise ValueError(f"{env_id!r} is not a glimpse env (entry point {spec.entry_point})")
    return {**spec.kwargs, **overrides}
