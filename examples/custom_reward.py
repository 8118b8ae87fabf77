"""Plug in a reward: pay for looking near the digit's centre of mass, plus correctness.

GLIMPSE_ENV_DATA=../shared/data python examples/custom_reward.py
"""

import gymnasium as gym
import torch

import glimpse_env
from glimpse_env.core.rewards import RewardInput


class ConfidentAndRight:
    """1 for a right final guess, minus 0.1 per step of low confidence (max belief < 0.5)."""

    def __call__(self, step: RewardInput) -> torch.Tensor:
        confident = step.log_belief.exp().max(-1).values >= 0.5
        right = (step.log_belief.argmax(-1) == step.label) & step.terminal
        return right.float() - 0.1 * (~confident).float()


glimpse_env.register_reward("confident_and_right", ConfidentAndRight)
env = gym.make("GlimpseEnv-v0", split="test", reward="confident_and_right")
obs, info = env.reset(seed=0)
total, terminated = 0.0, False
while not terminated:
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    total += reward
print(f"return {total:.2f}, correct: {info['correct']}")
