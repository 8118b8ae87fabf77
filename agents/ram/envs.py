"""From a registered env id and overrides to the batched cores the trainer and evaluator step.

The kwargs are those ``gym.make(env_id, **overrides)`` would pass to the env, so a core made here
is the core of the env a user makes with the same id and kwargs.
"""

from __future__ import annotations

from typing import Any

from glimpse_env.commands.cli_args import parse_json_object
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["env_kwargs", "make_core", "parse_json_kwargs"]


parse_json_kwargs = parse_json_object
"""A JSON object from the command line: :func:`glimpse_env.commands.cli_args.parse_json_object`."""


def env_kwargs(env_id: str, **overrides: Any) -> dict[str, Any]:
    """The registered kwargs of ``env_id`` updated with the overrides whose value is not None.

    A None override means "not given on the command line"; see
    :func:`glimpse_env.registration.env_kwargs` for the errors.
    """
    return registered_env_kwargs(env_id, **{k: v for k, v in overrides.items() if v is not None})


def make_core(kwargs: dict[str, Any]) -> GlimpseCore:
    """The batched core of an env made with ``kwargs`` (validated as ``gym.make`` would)."""
    return GlimpseCore(GlimpseConfig.from_kwargs(**kwargs))
