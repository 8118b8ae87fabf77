"""From env kwargs to the batched cores a trainer steps: the training core and the test core.

The kwargs are those ``gym.make(env_id, **kwargs)`` would pass to the env (see
:meth:`agents.harness.args.EnvArgs.resolve_env_kwargs`), so a core made here is the core of the
env a user makes with the same id and kwargs.
"""

from __future__ import annotations

from typing import Any

from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig

__all__ = ["make_core", "make_test_core"]


def make_core(kwargs: dict[str, Any]) -> GlimpseCore:
    """The batched core of an env made with ``kwargs`` (validated as ``gym.make`` would)."""
    return GlimpseCore(GlimpseConfig.from_kwargs(**kwargs))


def make_test_core(kwargs: dict[str, Any]) -> GlimpseCore:
    """The core of the test env: ``kwargs`` with ``fixed_canvases=True`` (the canvas of image
    ``i`` is the same in every run)."""
    return make_core({**kwargs, "fixed_canvases": True})
