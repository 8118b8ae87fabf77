"""Action adapters for libraries with narrower action spaces than the native Dict.

- :class:`FlatAction`: one ``Box(-1, 1, (2 + n,))`` (+1 with early stop) for continuous-action
  algorithms (PPO, A2C, SAC): ``[x, y, l_1, ..., l_n]``, logits ``logit_scale * l_i``.
- :class:`DiscreteAction`: one ``Discrete(G*G*n)`` for DQN-style algorithms: a cell of the
  patch grid times a class, the class sent as a confident one-hot belief.

Both decode through :mod:`glimpse_env.core.actions`, as does the batched SB3 adapter
(:mod:`glimpse_env.faces.sb3`), so every face reads an action the same way.

>>> import gymnasium as gym, torch, glimpse_env
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123"))
>>> env = DiscreteAction(gym.make("GlimpseEnv-v0", dataset=data))
>>> env.action_space  # a 6 x 6 grid of 8x8 patches at stride 4, times 4 classes
Discrete(144)
>>> FlatAction(gym.make("GlimpseEnv-v0", dataset=data)).action_space
Box(-1.0, 1.0, (6,), float32)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from glimpse_env.core.actions import decode_discrete, decode_flat, discrete_grid

__all__ = ["DiscreteAction", "FlatAction", "flat_action_space", "grid_for"]


def flat_action_space(num_classes: int, early_stop: bool) -> spaces.Box:
    """``Box(-1, 1, (2 + n + early_stop,))``: location, scaled logits, and a stop score (> 0)."""
    return spaces.Box(-1.0, 1.0, (2 + num_classes + int(early_stop),), dtype=np.float32)


def grid_for(env: gym.Env | Any, stride: int | None = None) -> torch.Tensor:
    """The location grid of an env (single or vector): patch centres at ``stride`` (``P // 2``)."""
    core = env.unwrapped.core
    size = min(core.canvas_shape[1:])
    return discrete_grid(size, core.config.patch_size, stride, device=core.device)


class FlatAction(gym.ActionWrapper):
    """One Box action ``[x, y, l_1, ..., l_n(, stop)]`` in [-1, 1].

    Args:
        env: a GlimpseEnv.
        logit_scale: logits are ``logit_scale * l_i`` (10 lets a policy be near certain).
    """

    def __init__(self, env: gym.Env, logit_scale: float = 10.0) -> None:
        super().__init__(env)
        core = env.unwrapped.core
        self.num_classes = core.num_classes
        self.early_stop = core.config.early_stop
        self.logit_scale = logit_scale
        self.action_space = flat_action_space(self.num_classes, self.early_stop)

    def action(self, action: np.ndarray) -> dict[str, np.ndarray]:
        flat = torch.as_tensor(np.asarray(action, dtype=np.float32)).reshape(1, -1)
        n = self.num_classes
        location, logits = decode_flat(flat[:, : 2 + n], n, self.logit_scale)
        native = {"location": location[0].numpy(), "logits": logits[0].numpy()}
        if self.early_stop:
            native["stop"] = int(flat[0, -1] > 0)
        return native


class DiscreteAction(gym.ActionWrapper):
    """One Discrete action ``cell * n + class`` over the patch grid (see :func:`grid_for`).

    Args:
        env: a GlimpseEnv (without early stop).
        stride: grid stride in pixels (default half the patch size).
        confidence: logit of the chosen class (the others get 0).
    """

    def __init__(self, env: gym.Env, stride: int | None = None, confidence: float = 10.0) -> None:
        super().__init__(env)
        core = env.unwrapped.core
        if core.config.early_stop:
            raise ValueError("DiscreteAction does not support early_stop=True; use FlatAction")
        self.num_classes = core.num_classes
        self.confidence = confidence
        self.grid = grid_for(env, stride).cpu()
        self.action_space = spaces.Discrete(len(self.grid) * self.num_classes)

    def action(self, action: int | np.ndarray) -> dict[str, np.ndarray]:
        index = torch.as_tensor(np.asarray(action)).reshape(1)
        location, logits = decode_discrete(index, self.grid, self.num_classes, self.confidence)
        return {"location": location[0].numpy(), "logits": logits[0].numpy()}
