"""The env of the hybrid agents: the agent sees its episode so far, its own class head believes.

:class:`HistoryLoop` is a belief source (:class:`agents.in_the_loop.loop.BeliefSource`) with no
classifier of its own: what the agent observes besides the current glimpse is the episode's
history, every glimpse seen so far with its location and a seen flag (zeros for the glimpses to
come), and the belief the env receives comes from a ``head`` the agent binds to it: the class
head of its policy network, read on the same observation (:mod:`agents.sb3.hybrid`). So a
memoryless policy (SAC, CrossQ, PPO) sees the whole episode, and the belief is the policy's.

>>> import torch
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(10, 1, 28, 28, dtype=torch.uint8), torch.arange(10),
...                     classes=tuple("0123456789"))  # or split="test[:8000]" of MNIST
>>> venv = make_hybrid_vec_env("GlimpseEnv-v0", num_envs=16, dataset=data)
>>> venv.observation_space.shape  # glimpse 64 + x, y + 6 steps x (64 + x, y + seen)
(468,)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from agents.in_the_loop.sb3 import InTheLoopSB3VecEnv
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["HistoryLoop", "history_size", "make_hybrid_vec_env"]

Head = Callable[[Any], torch.Tensor]
"""``observation batch (N, D) -> logits (N, n)``: the agent's class head."""


def history_size(glimpse_shape: tuple[int, ...], num_glimpses: int) -> int:
    """Values of the history: ``T`` slots of ``[glimpse pixels, x, y, seen]``."""
    return num_glimpses * (math.prod(glimpse_shape) + 3)


class HistoryLoop:
    """N running episodes as their histories; the belief comes from the bound ``head``.

    Args:
        glimpse_shape: ``(S*C, P, P)``.
        num_classes: n.
        num_glimpses: T.
        num_envs: N.

    Attributes:
        head: the agent's class head; until one is bound the belief is uniform (zero logits).
    """

    feature_key = "history"
    feature_low = -1.0
    feature_high = 1.0

    def __init__(
        self,
        glimpse_shape: tuple[int, ...],
        num_classes: int,
        num_glimpses: int,
        num_envs: int,
    ) -> None:
        self.num_envs = num_envs
        self.num_classes = num_classes
        self.num_glimpses = num_glimpses
        self.device = torch.device("cpu")
        size = math.prod(glimpse_shape)
        self.history = torch.zeros(num_envs, self.num_glimpses, size + 3)
        self.seen = torch.zeros(num_envs, dtype=torch.int64)
        self.head: Head | None = None

    @classmethod
    def for_core(cls, core: GlimpseCore, num_envs: int) -> HistoryLoop:
        """A history of the glimpses, classes and episode length of ``core``."""
        return cls(core.glimpse_shape, core.num_classes, core.config.num_glimpses, num_envs)

    @property
    def feature_size(self) -> int:
        return self.history[0].numel()

    def features(self) -> torch.Tensor:
        """``(N, T * (S*C*P*P + 3))``: the histories, flattened."""
        return self.history.reshape(self.num_envs, -1)

    def logits(self, observation: Any) -> torch.Tensor:
        """``(N, n)``: the bound head's logits for the agent's observation (zeros without one)."""
        if self.head is None:
            return torch.zeros(self.num_envs, self.num_classes)
        return self.head(observation).detach().cpu()

    def advance(
        self,
        glimpse: Any,
        location: Any,
        start: torch.Tensor | None = None,
        seen: torch.Tensor | None = None,
        done: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> None:
        """As :meth:`agents.in_the_loop.loop.BeliefLoop.advance`; ``done`` and ``labels`` are not
        needed (the agent learns from the labels in its transitions' infos)."""
        if start is not None and bool(start.any()):
            self.history[start] = 0.0
            self.seen[start] = 0
        rows = torch.arange(self.num_envs) if seen is None else seen.nonzero(as_tuple=True)[0]
        if len(rows) == 0:
            return
        glimpse = torch.as_tensor(np.asarray(glimpse, dtype=np.float32)).reshape(self.num_envs, -1)
        location = torch.as_tensor(np.asarray(location, dtype=np.float32))
        slot = torch.cat([glimpse, location, torch.ones(self.num_envs, 1)], dim=1)
        at = self.seen[rows].clamp(max=self.num_glimpses - 1)
        self.history[rows, at] = slot[rows]
        self.seen[rows] += 1


def make_hybrid_vec_env(env_id: str, num_envs: int = 16, **env_kwargs: Any) -> InTheLoopSB3VecEnv:
    """The SB3 VecEnv a hybrid agent trains on: ``num_envs`` envs of a registered id (kwargs over
    its preset), a location action, observations ``[glimpse, x, y, history]``."""
    vector = GlimpseVectorEnv(num_envs=num_envs, **registered_env_kwargs(env_id, **env_kwargs))
    return InTheLoopSB3VecEnv(vector, source=HistoryLoop.for_core(vector.core, num_envs))
