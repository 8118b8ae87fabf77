"""The envs behind the ``-Box-`` and ``-Discrete-`` ids: one Box observation, one Box or Discrete
action, for clients that reach an env by id alone (CleanRL's ``--env-id glimpse_env:ID``).

Observation: ``Box((S*C*P*P + 2,), float32)``, the glimpse and its location flattened
(``[glimpse..., x, y]``). Action: :class:`~glimpse_env.faces.wrappers.FlatAction`'s Box or
:class:`~glimpse_env.faces.wrappers.DiscreteAction`'s Discrete. Everything else (kwargs,
rewards, infos with ``label`` at every step, seeding, ``env.unwrapped.loss_fn``) is the native
env's. ``gym.make_vec`` builds the batched env with the same wrappers done for the whole batch
(``vector_entry_point``, next-step autoreset); ``vectorization_mode="sync"`` works too.

>>> import gymnasium as gym, torch, glimpse_env
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123"))
>>> env = gym.make("glimpse_env:GlimpseEnv-Discrete-v0", dataset=data)
>>> env.observation_space.shape, env.action_space  # 8x8 glimpse + (x, y); 6x6 cells x 4 classes
((66,), Discrete(144))
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.vector import VectorEnv
from gymnasium.wrappers import FlattenObservation

from glimpse_env.faces.env import GlimpseEnv
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.faces.wrappers import (
    DiscreteAction,
    DiscreteVectorAction,
    FlatAction,
    FlattenVectorObservation,
    FlatVectorAction,
)

__all__ = ["box_env", "box_vector_env", "discrete_env", "discrete_vector_env"]


def box_env(logit_scale: float = 10.0, **kwargs: Any) -> gym.Env:
    """A :class:`GlimpseEnv` with a flat Box observation and a flat Box action.

    Args:
        logit_scale: see :class:`~glimpse_env.faces.wrappers.FlatAction`.
        **kwargs: the :class:`GlimpseEnv`'s (config fields and ``render_mode``).
    """
    return FlattenObservation(FlatAction(GlimpseEnv(**kwargs), logit_scale))


def discrete_env(stride: int | None = None, confidence: float = 10.0, **kwargs: Any) -> gym.Env:
    """A :class:`GlimpseEnv` with a flat Box observation and a Discrete action.

    Args:
        stride: see :class:`~glimpse_env.faces.wrappers.DiscreteAction`.
        confidence: see :class:`~glimpse_env.faces.wrappers.DiscreteAction`.
        **kwargs: the :class:`GlimpseEnv`'s (config fields and ``render_mode``).
    """
    return FlattenObservation(DiscreteAction(GlimpseEnv(**kwargs), stride, confidence))


def box_vector_env(logit_scale: float = 10.0, **kwargs: Any) -> VectorEnv:
    """:func:`box_env` for ``num_envs`` envs in one :class:`GlimpseVectorEnv` (kwargs: its)."""
    return FlattenVectorObservation(FlatVectorAction(GlimpseVectorEnv(**kwargs), logit_scale))


def discrete_vector_env(
    stride: int | None = None, confidence: float = 10.0, **kwargs: Any
) -> VectorEnv:
    """:func:`discrete_env` for ``num_envs`` envs in one :class:`GlimpseVectorEnv`."""
    vector = GlimpseVectorEnv(**kwargs)
    return FlattenVectorObservation(DiscreteVectorAction(vector, stride, confidence))
