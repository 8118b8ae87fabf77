"""The SB3 face: :class:`~glimpse_env.faces.sb3.GlimpseSB3VecEnv` with a classifier in the loop.

SB3 and sb3-contrib algorithms (PPO, A2C, SAC, CrossQ, DQN, RecurrentPPO) train on it as on any
VecEnv: a ``Box(-1, 1, (2,))`` location action (``action="grid"``: ``Discrete(G*G)``, for DQN),
a flat ``Box`` observation ``[glimpse pixels, x, y, belief]`` (``MlpPolicy``; ``"dict"``:
``MultiInputPolicy``), the env's own reward for the classifier's belief.
The adapter reports episode returns as SB3's ``Monitor`` does, so ``verbose=1`` logs
``ep_rew_mean``.

>>> from stable_baselines3 import SAC
>>> venv = make_in_the_loop_vec_env("GlimpseEnv-v0", num_envs=16,
...                                 split="test[:8000]")  # doctest: +SKIP
>>> SAC("MlpPolicy", venv, verbose=1).learn(2_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.in_the_loop.classifier import OnlineClassifier
from agents.in_the_loop.parts import LOOP_OPTIONS, LoopFace, loop_parts
from agents.in_the_loop.signals import episode_labels
from glimpse_env.faces.sb3 import GlimpseSB3VecEnv
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["InTheLoopSB3VecEnv", "make_in_the_loop_vec_env"]

_FACE = "InTheLoopSB3VecEnv"


class InTheLoopSB3VecEnv(LoopFace, GlimpseSB3VecEnv):
    """SB3 VecEnv over a batched glimpse env with a classifier (or another source) in the loop.

    Arguments as :class:`~agents.in_the_loop.wrapper.InTheLoop`'s; ``env`` is a
    :class:`~glimpse_env.faces.vector.GlimpseVectorEnv` (switched to same-step autoreset).
    Finished episodes' ``infos[i]["terminal_observation"]`` are in the agent's form, with the
    belief the episode ended on.
    """

    def __init__(
        self, env: GlimpseVectorEnv, classifier: OnlineClassifier | None = None, **options: Any
    ) -> None:
        parts = loop_parts(env, _FACE, env.num_envs, classifier, **options)
        super().__init__(env, "flat")
        self.codec = _LoopCodec(self)  # the adapter decodes actions through its codec
        self.parts = parts
        self.action_space = parts.actions.space
        self.observation_space = parts.form.space

    def reset(self) -> Any:
        obs = super().reset()
        everyone = torch.ones(self.num_envs, dtype=torch.bool)
        self.source.advance(obs["glimpse"], obs["location"], start=everyone)
        return self.observe(obs["glimpse"], obs["location"])

    def step_wait(self):
        obs, rewards, dones, infos = super().step_wait()
        done = torch.from_numpy(np.asarray(dones, dtype=bool))
        labels = None
        if bool(done.any()):
            rows = np.flatnonzero(dones)
            finals = [infos[i]["terminal_observation"] for i in rows]
            built = self.parts.form.build(
                np.stack([final["glimpse"] for final in finals]),
                np.stack([final["location"] for final in finals]),
                self.source.features()[rows],
            )
            for k, i in enumerate(rows):
                infos[i]["terminal_observation"] = self.parts.form.row(built, k)
            if self.parts.learn:
                found = [episode_labels(infos[i], 1, _FACE) for i in rows]
                labels = torch.zeros(self.num_envs, dtype=torch.int64)
                labels[torch.from_numpy(rows)] = torch.cat(found)
        self.source.advance(obs["glimpse"], obs["location"], start=done, done=done, labels=labels)
        return self.observe(obs["glimpse"], obs["location"]), rewards, dones, infos


class _LoopCodec:
    """The adapter's action codec for a source in the loop: the agent's location, the source's
    logits for the observation it acted on."""

    def __init__(self, venv: InTheLoopSB3VecEnv) -> None:
        self.venv = venv

    @property
    def space(self):
        return self.venv.parts.actions.space

    def decode(self, actions: Any, batch: int) -> tuple[torch.Tensor, torch.Tensor, None]:
        venv = self.venv
        device = venv.env.core.device
        location = venv.parts.actions.decode(actions, batch).to(device)
        return location, venv.current_logits().to(device), None


def make_in_the_loop_vec_env(
    env_id: str,
    num_envs: int = 16,
    classifier: OnlineClassifier | None = None,
    **kwargs: Any,
) -> InTheLoopSB3VecEnv:
    """An :class:`InTheLoopSB3VecEnv` of ``num_envs`` envs of a registered id.

    ``kwargs`` named in :data:`~agents.in_the_loop.parts.LOOP_OPTIONS` (``action``,
    ``observation``, ``learn``, ``settings``, ...) go to the wrapper, the others are env kwargs
    over the id's preset (``split``, ``reward``, ...).
    """
    options = {key: kwargs.pop(key) for key in LOOP_OPTIONS if key in kwargs}
    vector = GlimpseVectorEnv(num_envs=num_envs, **registered_env_kwargs(env_id, **kwargs))
    return InTheLoopSB3VecEnv(vector, classifier, **options)
