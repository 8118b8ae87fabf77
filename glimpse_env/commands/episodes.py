"""Play one episode of a policy and keep its frames: what ``gif`` writes and ``play`` shows."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from glimpse_env.commands.policies import Policy

__all__ = ["run_episode"]


def run_episode(
    env: gym.Env, policy: Policy, seed: int | None = None
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Play one episode with ``policy`` and collect its frames.

    Returns:
        ``(frames, info)``: the frame after the reset and after every step, each
        ``(H, W, 3)`` uint8, and the last step's info.
    """
    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    state, episode_start = None, np.ones(1, bool)
    done, info = False, {}
    while not done:
        action, state = policy.predict(obs, state, episode_start, deterministic=True)
        obs, _, terminated, truncated, info = env.step(action)
        frames.append(env.render())
        episode_start = np.zeros(1, bool)
        done = terminated or truncated
    return frames, info
