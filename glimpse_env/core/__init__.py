"""The environment itself, with no Gymnasium face: configuration, sensor, batched core, rewards.

Modules, in the order they import one another (``glimpse_env.data`` comes first):

- :mod:`~glimpse_env.core.rewards`: the reward protocol, registry and entry points;
- :mod:`~glimpse_env.core.config`: :class:`GlimpseConfig`, every env argument in one place;
- :mod:`~glimpse_env.core.sensor`: the multi-resolution glimpse (summed-area table + one gather);
- :mod:`~glimpse_env.core.actions`: the observation/action spaces and action parsing;
- :mod:`~glimpse_env.core.batched`: :class:`GlimpseCore`, a batch of episodes as tensors
  (reset, step, partial restarts), which every face steps.
"""

from glimpse_env.core.batched import EpisodeState, GlimpseCore, StepResult
from glimpse_env.core.config import GlimpseConfig

__all__ = ["EpisodeState", "GlimpseConfig", "GlimpseCore", "StepResult"]
