"""InTheLoop: a single glimpse env whose class belief comes from an online-trained classifier.

The agent only says where to look; a recurrent glimpse classifier
(:mod:`agents.in_the_loop.classifier`) reads every glimpse, sends its logits to the env as the
class belief, and learns from the finished episodes by the env's prediction loss against
``info["label"]``. The reward is the env's own (any registered reward, computed on the
classifier's belief), and the agent observes the classifier's belief beside the glimpse, so it
knows what it already believes. Any RL library learns where to look through it unchanged.

>>> import gymnasium as gym, torch, glimpse_env
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123"))
>>> env = InTheLoop(gym.make("GlimpseEnv-v0", dataset=data, reward="information_gain"))
>>> env.action_space, env.observation_space.shape  # 64 pixels, x, y, 4 probabilities
(Box(-1.0, 1.0, (2,), float32), (70,))
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.in_the_loop.classifier import OnlineClassifier
from agents.in_the_loop.parts import LoopFace, loop_parts
from agents.in_the_loop.signals import episode_labels

__all__ = ["InTheLoop"]

_ONE = torch.ones(1, dtype=torch.bool)


class InTheLoop(LoopFace, gym.Wrapper):
    """A glimpse env with a classifier in the loop; the agent acts only on the location.

    Action: ``Box(-1, 1, (2,))`` where to look next (``action="grid"``: ``Discrete(G*G)``, a
    cell of the patch grid). Observation: ``[glimpse pixels, x, y, belief]`` as one Box
    (``observation="dict"``: a Dict with ``glimpse``, ``location``, ``belief``). Reward,
    termination and info: the env's, for the classifier's belief.

    Args:
        env: a glimpse env (``gym.make("GlimpseEnv-...")``) with its native Dict action.
        classifier: share a classifier (e.g. with a vector env); default a new one.
        **options: :func:`~agents.in_the_loop.parts.loop_parts`'s: ``action`` (``"box"`` or
            ``"grid"``), ``observation`` (``"flat"`` or ``"dict"``), ``stride`` (the grid's, in
            pixels), ``learn`` (train the classifier on the episodes played; False replays a
            trained one), ``with_state`` (also observe the classifier's state), ``settings``
            and ``seed`` (of a new classifier), ``source`` (another belief source).

    Raises:
        ValueError: not a glimpse env, an action-wrapped env, early stop, a classifier of
            another configuration; at reset, an env whose info has no ``label`` (when learning).
    """

    def __init__(
        self, env: gym.Env, classifier: OnlineClassifier | None = None, **options: Any
    ) -> None:
        super().__init__(env)
        self.parts = loop_parts(env, "InTheLoop", 1, classifier, **options)
        self.action_space = self.parts.actions.space
        self.observation_space = self.parts.form.space

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if self.parts.learn:  # fail at once on an env that gives learners no label
            episode_labels(info, 1, "InTheLoop")
        self.source.advance(obs["glimpse"][None], obs["location"][None], start=_ONE)
        return self._observation(obs), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        location = self.parts.actions.decode(action, 1)
        native = {
            "location": location[0].numpy(),
            "logits": self.current_logits()[0].cpu().numpy().astype(np.float32),
        }
        obs, reward, terminated, truncated, info = self.env.step(native)
        if terminated or truncated:
            labels = episode_labels(info, 1, "InTheLoop") if self.parts.learn else None
            final = self._observation(obs)  # the belief sent with this last step
            self.source.advance(
                obs["glimpse"][None], obs["location"][None], seen=~_ONE, done=_ONE, labels=labels
            )
            return final, reward, terminated, truncated, info
        self.source.advance(obs["glimpse"][None], obs["location"][None])
        return self._observation(obs), reward, terminated, truncated, info

    def _observation(self, obs: dict[str, np.ndarray]) -> Any:
        return self.parts.form.row(self.observe(obs["glimpse"][None], obs["location"][None]), 0)
