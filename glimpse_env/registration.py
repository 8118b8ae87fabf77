"""The table of registered ids: presets of :class:`~glimpse_env.core.config.GlimpseConfig`.

The MNIST presets follow Mnih et al. 2014 (Tables 1-2); the colour presets follow Rangrej &
Clark, BMVC 2021 (8x8 glimpses on 32x32 images). Every field stays a ``gym.make`` kwarg.

Beside each preset ``GlimpseEnv-X-v0`` two ids serve clients that reach an env by id alone
(CleanRL's ``--env-id glimpse_env:ID``): ``GlimpseEnv-X-Box-v0`` (flat Box observation, Box
action) and ``GlimpseEnv-X-Discrete-v0`` (flat Box observation, Discrete action); see
:mod:`glimpse_env.faces.flat`. ``GlimpseEnv-v0``'s are ``GlimpseEnv-Box-v0`` and
``GlimpseEnv-Discrete-v0``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["PRESETS", "VARIANTS", "env_kwargs", "register_envs", "variant_id"]

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

_ENTRY_POINTS = {
    "Box": ("glimpse_env.faces.flat:box_env", "glimpse_env.faces.flat:box_vector_env"),
    "Discrete": (
        "glimpse_env.faces.flat:discrete_env",
        "glimpse_env.faces.flat:discrete_vector_env",
    ),
}


def variant_id(preset_id: str, action: str) -> str:
    """The id of a preset's flat variant: ``("GlimpseEnv-v0", "Box")`` -> ``GlimpseEnv-Box-v0``.

    >>> variant_id("GlimpseEnv-cluttered60-v0", "Discrete")
    'GlimpseEnv-cluttered60-Discrete-v0'
    """
    name, version = preset_id.rsplit("-", 1)
    return f"{name}-{action}-{version}"


VARIANTS: dict[str, tuple[str, str]] = {
    variant_id(preset, action): (preset, action) for preset in PRESETS for action in _ENTRY_POINTS
}
"""Flat-variant id -> (its preset id, ``"Box"`` or ``"Discrete"`` action)."""


def register_envs() -> None:
    """Register every preset and its Box and Discrete variants with gymnasium (idempotent)."""
    native = ("glimpse_env.faces.env:GlimpseEnv", "glimpse_env.faces.vector:GlimpseVectorEnv")
    ids = {env_id: (env_id, native) for env_id in PRESETS}
    ids.update({env_id: (p, _ENTRY_POINTS[a]) for env_id, (p, a) in VARIANTS.items()})
    for env_id, (preset, (entry_point, vector_entry_point)) in ids.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=entry_point,
            vector_entry_point=vector_entry_point,
            kwargs=dict(PRESETS[preset]),
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
