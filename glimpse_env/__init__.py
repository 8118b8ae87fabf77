"""glimpse-env: image classification through a movable multi-resolution glimpse, as Gymnasium envs.

>>> import gymnasium as gym
>>> import glimpse_env  # registers the GlimpseEnv-* ids
>>> "GlimpseEnv-cluttered60-v0" in gym.registry
True
"""

from glimpse_env.core.batched import EpisodeState, GlimpseCore, StepResult
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.learning import prediction_loss
from glimpse_env.core.rewards import (
    Reward,
    RewardInput,
    available_rewards,
    make_reward,
    register_reward,
)
from glimpse_env.core.sensor import extract_glimpses
from glimpse_env.faces.env import GlimpseEnv
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.registration import PRESETS, register_envs

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "EpisodeState",
    "GlimpseConfig",
    "GlimpseCore",
    "GlimpseEnv",
    "GlimpseVectorEnv",
    "Reward",
    "RewardInput",
    "StepResult",
    "available_rewards",
    "extract_glimpses",
    "make_reward",
    "prediction_loss",
    "register_envs",
    "register_reward",
]

register_envs()
