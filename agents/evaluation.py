"""Evaluate any policy with the ``predict`` API on fixed test episodes, stepping the batched core.

The protocol (:class:`EvalProtocol`) is the one every benchmark cell uses: the held-out split with
``fixed_canvases=True``, the first ``episodes`` images of it each played once (all by default), the
initial locations drawn from a generator seeded with ``seed``, the policy deterministic. A policy
is any object with ``predict(obs, state=None, episode_start=None, deterministic=True) ->
(action, state)`` that takes a batch of observations (``glimpse (B, S*C, P, P)``, ``location
(B, 2)``) and returns native batched actions (``location (B, 2)``, ``logits (B, n)``): the
SB3 models (through :class:`agents.sb3.policy.SB3Policy`), the heuristics and RAM all do.

>>> import torch
>>> from agents.heuristics import CenterPolicy
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(20, 1, 28, 28, dtype=torch.uint8), torch.arange(20) % 10,
...                     classes=tuple("0123456789"))
>>> core = make_core("GlimpseEnv-v0", dataset=data, fixed_canvases=True)
>>> # on MNIST: core = make_core("GlimpseEnv-v0", **EvalProtocol().env_kwargs({}))
>>> result = evaluate_policy(CenterPolicy(10), core)
>>> result.episodes, result.accuracy  # every image once; its guess, class 0, right on 2 of 20
(20, 0.1)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from glimpse_env.core.actions import parse_action
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.data.catalog import SHARED_TEST_SPLIT
from glimpse_env.faces.env import observation_from_state
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["EvalProtocol", "EvalResult", "PredictPolicy", "evaluate_policy", "make_core"]


class PredictPolicy(Protocol):
    """What the evaluator needs of a policy (SB3's ``predict`` contract, native actions)."""

    def predict(
        self,
        obs: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], Any]: ...


@dataclass(frozen=True)
class EvalProtocol:
    """Which test episodes a policy is evaluated on.

    Attributes:
        split: the held-out split (the shared ``test[8000:]`` by default).
        episodes: play the first ``episodes`` images of the split once each; None: all of them.
        seed: seeds the initial locations (and anything else the core draws).
        batch_size: episodes stepped at once.
        env_overrides: more env kwargs for the test env (on top of the training env's).
    """

    split: str = SHARED_TEST_SPLIT
    episodes: int | None = None
    seed: int = 0
    batch_size: int = 1000
    env_overrides: dict[str, Any] = field(default_factory=dict)

    def env_kwargs(self, train_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The test env's kwargs: the training env's, the overrides, the split, fixed canvases."""
        return {**train_kwargs, **self.env_overrides, "split": self.split, "fixed_canvases": True}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> EvalProtocol:
        return cls(**(values or {}))


@dataclass(frozen=True)
class EvalResult:
    """Test metrics: ``accuracy`` of the final guess, ``mean_return`` per episode, ``episodes``."""

    accuracy: float
    mean_return: float
    episodes: int
    eval_time_s: float


def make_core(env_id: str, **env_kwargs: Any) -> GlimpseCore:
    """The batched core of ``gym.make(env_id, **env_kwargs)`` (its preset, then the kwargs)."""
    return GlimpseCore(GlimpseConfig.from_kwargs(**registered_env_kwargs(env_id, **env_kwargs)))


@torch.no_grad()
def evaluate_policy(
    policy: PredictPolicy,
    core: GlimpseCore,
    episodes: int | None = None,
    seed: int = 0,
    batch_size: int = 1000,
) -> EvalResult:
    """Play images ``0 .. episodes-1`` of ``core``'s split once each with ``policy``.

    Episodes run in batches of ``batch_size`` on the core; each batch starts with
    ``episode_start`` all true and ``state=None`` and runs until every episode of it has ended
    (``T`` steps, fewer with early stop). Returns the accuracy of the final guesses and the mean
    undiscounted return.
    """
    started = time.perf_counter()
    count = core.num_images if episodes is None else min(int(episodes), core.num_images)
    if count < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    generator = torch.Generator(device=core.device).manual_seed(seed)
    correct = 0
    total_return = 0.0
    n, early_stop = core.num_classes, core.config.early_stop
    for index in torch.arange(count, device=core.device).split(batch_size):
        state = core.reset(generator, index=index)
        batch = len(index)
        done = torch.zeros(batch, dtype=torch.bool, device=core.device)
        returns = torch.zeros(batch, device=core.device)
        agent_state, episode_start = None, np.ones(batch, dtype=bool)
        while not done.all():
            action, agent_state = policy.predict(
                observation_from_state(state), agent_state, episode_start, deterministic=True
            )
            location, logits, stop = parse_action(action, n, early_stop, batch, core.device)
            state, result = core.step(state, location, logits, stop)
            live = ~done
            returns += torch.where(live, result.reward, torch.zeros_like(result.reward))
            correct += int((result.correct & result.terminated & live).sum())
            done |= result.terminated
            episode_start = np.zeros(batch, dtype=bool)
        total_return += float(returns.sum())
    return EvalResult(
        accuracy=correct / count,
        mean_return=total_return / count,
        episodes=count,
        eval_time_s=time.perf_counter() - started,
    )
