"""InTheLoopVectorEnv: the batched glimpse env with a classifier in the loop, for N envs at once.

One classifier forward for all N envs per step; every few steps one gradient step on a batch of
the finished episodes it has buffered (``ClassifierSettings.update_interval``, spaced out beyond
256 envs: :mod:`agents.in_the_loop.classifier`).
Both of gymnasium's autoreset modes of :class:`~glimpse_env.faces.vector.GlimpseVectorEnv` work:
with ``next_step`` the step after an episode's end restarts it (reward 0, action ignored), with
``same_step`` the finished episode's last observation (with the belief it ended on) is in
``info["final_obs"]``.

>>> import gymnasium as gym, torch, glimpse_env
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123"))
>>> envs = InTheLoopVectorEnv(gym.make_vec("GlimpseEnv-v0", num_envs=8,
...                           vectorization_mode="vector_entry_point", dataset=data))
>>> envs.single_action_space, envs.observation_space.shape
(Box(-1.0, 1.0, (2,), float32), (8, 70))
>>> obs, info = envs.reset(seed=0)
>>> obs, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

from agents.in_the_loop.classifier import OnlineClassifier
from agents.in_the_loop.parts import LoopFace, loop_parts
from agents.in_the_loop.signals import episode_labels

__all__ = ["InTheLoopVectorEnv"]

_FACE = "InTheLoopVectorEnv"


class InTheLoopVectorEnv(LoopFace, VectorWrapper):
    """A glimpse vector env with a classifier in the loop; the agents act only on locations.

    Spaces are those of :class:`~agents.in_the_loop.wrapper.InTheLoop`, batched. Arguments as
    :class:`~agents.in_the_loop.wrapper.InTheLoop`'s; ``env`` is a vector glimpse env
    (``gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point")``).
    """

    def __init__(
        self, env: VectorEnv, classifier: OnlineClassifier | None = None, **options: Any
    ) -> None:
        super().__init__(env)
        self.parts = loop_parts(env, _FACE, env.num_envs, classifier, **options)
        self.single_action_space = self.parts.actions.space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.single_observation_space = self.parts.form.space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._restart = torch.zeros(self.num_envs, dtype=torch.bool)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if self.parts.learn:  # fail at once on an env that gives learners no label
            episode_labels(info, self.num_envs, _FACE)
        self._restart = torch.zeros(self.num_envs, dtype=torch.bool)
        everyone = torch.ones(self.num_envs, dtype=torch.bool)
        self.source.advance(obs["glimpse"], obs["location"], start=everyone)
        return self._observation(obs), info

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        location = self.parts.actions.decode(actions, self.num_envs)
        native = {
            "location": location.numpy(),
            "logits": self.current_logits().cpu().numpy().astype(np.float32, copy=False),
        }
        obs, rewards, terminated, truncated, info = self.env.step(native)
        done = torch.from_numpy(np.asarray(terminated | truncated, dtype=bool))
        any_done = bool(done.any())
        if self.env.metadata.get("autoreset_mode") == AutoresetMode.SAME_STEP:
            labels = None
            if any_done:
                self._finish_final_obs(info, done)
                if self.parts.learn:
                    labels = episode_labels(info["final_info"], self.num_envs, _FACE)
            self.source.advance(
                obs["glimpse"], obs["location"], start=done, done=done, labels=labels
            )
        else:  # next step: rows that ended show their last glimpse again, then restart
            learning = any_done and self.parts.learn
            labels = episode_labels(info, self.num_envs, _FACE) if learning else None
            self.source.advance(
                obs["glimpse"], obs["location"], start=self._restart, seen=~done, done=done,
                labels=labels,
            )  # fmt: skip
            self._restart = done
        return self._observation(obs), rewards, terminated, truncated, info

    def _finish_final_obs(self, info: dict[str, Any], done: torch.Tensor) -> None:
        """Put the agent's form of the finished episodes' last observations in ``final_obs``."""
        rows = np.flatnonzero(done.numpy())
        finals = [info["final_obs"][i] for i in rows]
        glimpse = np.stack([final["glimpse"] for final in finals])
        location = np.stack([final["location"] for final in finals])
        built = self.parts.form.build(glimpse, location, self.source.features()[rows])
        final_obs = np.full(self.num_envs, None, dtype=object)
        for k, i in enumerate(rows):
            final_obs[i] = self.parts.form.row(built, k)
        info["final_obs"] = final_obs

    def _observation(self, obs: dict[str, np.ndarray]) -> Any:
        return self.observe(obs["glimpse"], obs["location"])
