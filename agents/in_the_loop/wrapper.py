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

from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from agents.in_the_loop.classifier import ClassifierSettings, OnlineClassifier
from agents.in_the_loop.loop import BeliefSource
from agents.in_the_loop.parts import loop_parts
from agents.in_the_loop.signals import episode_labels

__all__ = ["InTheLoop"]

_ONE = torch.ones(1, dtype=torch.bool)


class InTheLoop(gym.Wrapper):
    """A glimpse env with a classifier in the loop; the agent acts only on the location.

    Action: ``Box(-1, 1, (2,))`` where to look next (``action="grid"``: ``Discrete(G*G)``, a
    cell of the patch grid). Observation: ``[glimpse pixels, x, y, belief]`` as one Box
    (``observation="dict"``: a Dict with ``glimpse``, ``location``, ``belief``). Reward,
    termination and info: the env's, for the classifier's belief.

    Args:
        env: a glimpse env (``gym.make("GlimpseEnv-...")``) with its native Dict action.
        classifier: share a classifier (e.g. with a vector env); default a new one.
        action: ``"box"`` or ``"grid"``.
        observation: ``"flat"`` or ``"dict"``.
        stride: the grid's stride in pixels (default half the patch).
        learn: train the classifier on the episodes played (False: replay a trained one).
        with_state: the agent also observes the classifier's recurrent state.
        settings: the new classifier's size and schedule.
        seed: the new classifier's seed.
        source: another belief source instead of a classifier (see
            :class:`~agents.in_the_loop.loop.BeliefSource`).

    Raises:
        ValueError: not a glimpse env, an action-wrapped env, early stop, a classifier of
            another configuration; at reset, an env whose info has no ``label`` (when learning).
    """

    def __init__(
        self,
        env: gym.Env,
        classifier: OnlineClassifier | None = None,
        *,
        action: Literal["box", "grid"] = "box",
        observation: Literal["flat", "dict"] = "flat",
        stride: int | None = None,
        learn: bool = True,
        with_state: bool = False,
        settings: ClassifierSettings | None = None,
        seed: int = 0,
        source: BeliefSource | None = None,
    ) -> None:
        super().__init__(env)
        self.parts = loop_parts(
            env, "InTheLoop", 1, classifier=classifier, source=source, action=action,
            observation=observation, stride=stride, learn=learn, with_state=with_state,
            settings=settings, seed=seed,
        )  # fmt: skip
        self.source = self.parts.source
        self.learn = learn
        self.action_space = self.parts.actions.space
        self.observation_space = self.parts.form.space
        self._last: Any = None

    @property
    def classifier(self) -> OnlineClassifier | None:
        return self.parts.classifier

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if self.learn:  # fail at once on an env that gives learners no label
            episode_labels(info, 1, "InTheLoop")
        self.source.advance(obs["glimpse"][None], obs["location"][None], start=_ONE)
        return self._observation(obs), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        location = self.parts.actions.decode(action, 1)
        logits = self.source.logits(self._last)
        native = {
            "location": location[0].numpy(),
            "logits": logits[0].detach().cpu().numpy().astype(np.float32),
        }
        obs, reward, terminated, truncated, info = self.env.step(native)
        if terminated or truncated:
            labels = episode_labels(info, 1, "InTheLoop") if self.learn else None
            final = self._observation(obs)  # the belief sent with this last step
            self.source.advance(
                obs["glimpse"][None], obs["location"][None], seen=~_ONE, done=_ONE, labels=labels
            )
            return final, reward, terminated, truncated, info
        self.source.advance(obs["glimpse"][None], obs["location"][None])
        return self._observation(obs), reward, terminated, truncated, info

    def _observation(self, obs: dict[str, np.ndarray]) -> Any:
        batch = self.parts.form.build(
            obs["glimpse"][None], obs["location"][None], self.source.features()
        )
        self._last = batch  # what the source's logits read at the next step
        return self.parts.form.row(batch, 0)
