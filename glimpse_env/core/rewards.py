"""Rewards: one protocol, the built-in rewards, and the plugin registry.

A reward is any callable that takes a :class:`RewardInput` (a batch of steps) and returns a
``(B,)`` float tensor. The environment calls it once per step with the class belief the agent
sent at this step and the one it sent at the step before (uniform before the first step).

Choose a reward by name with ``gym.make(id, reward="correct_entropy", reward_kwargs={"beta": 0.5})``
or pass an object: ``gym.make(id, reward=MyReward())``. Register a name with
:func:`register_reward`, or from another package through the ``glimpse_env.rewards`` entry-point
group (``[project.entry-points."glimpse_env.rewards"] my_reward = "my_pkg.rewards:MyReward"``);
the entry point names a factory called with ``reward_kwargs``.

Built in:

- ``correct``: 1 at the final step if the guess (argmax of the belief) is the true class, else 0
  (Mnih et al. 2014).
- ``correct_entropy``: ``correct`` plus ``beta * (H(previous belief) - H(belief))`` at every
  step, with the belief before the first step uniform (entropy ``log n``). An episode's rewards
  sum to ``correct + beta * (log n - H(final belief))``.
- ``information_gain``: ``log p_t(y) - log p_{t-1}(y)`` for the true class ``y`` at every step,
  with ``p_0`` uniform. An episode's rewards sum to ``log p_T(y) + log n``.

>>> import torch
>>> from glimpse_env.core.rewards import RewardInput, make_reward
>>> step = RewardInput(
...     log_belief=torch.log(torch.tensor([[0.9, 0.1]])),
...     prev_log_belief=torch.log(torch.tensor([[0.5, 0.5]])),
...     label=torch.tensor([0]), terminal=torch.tensor([True]), t=torch.tensor([6]))
>>> make_reward("correct")(step)
tensor([1.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import torch

__all__ = [
    "ENTRY_POINT_GROUP",
    "Correct",
    "CorrectEntropy",
    "InformationGain",
    "Reward",
    "RewardInput",
    "available_rewards",
    "checked_reward",
    "make_reward",
    "register_reward",
]

ENTRY_POINT_GROUP = "glimpse_env.rewards"


@dataclass(frozen=True)
class RewardInput:
    """What a reward sees about a batch of ``B`` steps over ``n`` classes.

    Attributes:
        log_belief: ``(B, n)`` log-probabilities of the belief sent at this step.
        prev_log_belief: ``(B, n)`` the belief sent at the previous step (uniform at the first).
        label: ``(B,)`` int64 true classes.
        terminal: ``(B,)`` bool, whether this step ends the episode (its belief is the guess).
        t: ``(B,)`` int64, the number of glimpses seen when the belief was formed (1..T).
    """

    log_belief: torch.Tensor
    prev_log_belief: torch.Tensor
    label: torch.Tensor
    terminal: torch.Tensor
    t: torch.Tensor


@runtime_checkable
class Reward(Protocol):
    """The reward protocol: ``reward(step: RewardInput) -> (B,) float tensor``."""

    def __call__(self, step: RewardInput) -> torch.Tensor: ...


def entropy(log_p: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of ``(B, n)`` log-probabilities -> ``(B,)``."""
    return -(log_p.exp() * log_p).sum(-1)


def _correct(step: RewardInput) -> torch.Tensor:
    return (step.log_belief.argmax(-1) == step.label) & step.terminal


class Correct:
    """1 for a right final guess, 0 otherwise (Mnih et al. 2014)."""

    def __call__(self, step: RewardInput) -> torch.Tensor:
        return _correct(step).float()

    def __repr__(self) -> str:
        return "Correct()"


class CorrectEntropy:
    """Correctness plus ``beta`` times the drop in the belief's entropy at every step.

    Args:
        beta: weight of the entropy term (0.5 in the explaining-RAM study).
    """

    def __init__(self, beta: float = 0.5) -> None:
        if not math.isfinite(beta):
            raise ValueError(f"beta must be a finite number, got {beta!r}")
        self.beta = float(beta)

    def __call__(self, step: RewardInput) -> torch.Tensor:
        drop = entropy(step.prev_log_belief) - entropy(step.log_belief)
        return _correct(step).float() + self.beta * drop

    def __repr__(self) -> str:
        return f"CorrectEntropy(beta={self.beta})"


class InformationGain:
    """The per-step rise of the true class's log-probability: ``log p_t(y) - log p_{t-1}(y)``."""

    def __call__(self, step: RewardInput) -> torch.Tensor:
        label = step.label[:, None]
        return (step.log_belief.gather(1, label) - step.prev_log_belief.gather(1, label))[:, 0]

    def __repr__(self) -> str:
        return "InformationGain()"


_REGISTRY: dict[str, Callable[..., Reward]] = {
    "correct": Correct,
    "correct_entropy": CorrectEntropy,
    "information_gain": InformationGain,
}


def register_reward(name: str, factory: Callable[..., Reward], *, overwrite: bool = False) -> None:
    """Make ``factory(**reward_kwargs)`` available as ``reward=name``."""
    if not overwrite and name in _REGISTRY and _REGISTRY[name] is not factory:
        raise ValueError(f"a reward named {name!r} is already registered")
    _REGISTRY[name] = factory


def _entry_point_rewards() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_rewards() -> list[str]:
    """Names accepted by ``reward=``: the registry plus the entry-point group."""
    return sorted(set(_REGISTRY) | set(_entry_point_rewards()))


def make_reward(reward: str | Reward, reward_kwargs: dict[str, Any] | None = None) -> Reward:
    """Resolve a reward given by name (registry, then entry points) or as an object.

    Raises:
        ValueError: an unknown name (the message lists the known ones), kwargs given with an
            object, or an object that is not callable.
    """
    kwargs = dict(reward_kwargs or {})
    if isinstance(reward, str):
        factory = _REGISTRY.get(reward)
        if factory is None:
            entry = _entry_point_rewards().get(reward)
            if entry is None:
                raise ValueError(
                    f"unknown reward {reward!r}; known rewards: {', '.join(available_rewards())} "
                    f"(or pass an object implementing glimpse_env.core.rewards.Reward)"
                )
            factory = entry.load()
        try:
            return factory(**kwargs)
        except TypeError as err:
            raise ValueError(f"bad reward_kwargs {kwargs} for reward {reward!r}: {err}") from err
    if kwargs:
        raise ValueError("reward_kwargs apply to a reward given by name, not to a reward object")
    if not callable(reward):
        raise ValueError(
            f"reward must be a registered name or a callable Reward, got {type(reward).__name__}"
        )
    return reward


def checked_reward(reward_fn: Reward, step: RewardInput) -> torch.Tensor:
    """``reward_fn(step)`` as a float32 ``(B,)`` tensor, ``B`` the steps in ``step``.

    Every caller of a reward plugin (the core's step, trainers that score whole episodes at
    once) goes through here, so a plugin that returns the wrong thing is named the same way.

    Raises:
        ValueError: the reward returned anything but a ``(B,)`` tensor; the message names the
            reward, what it returned and what was expected.
    """
    reward = reward_fn(step)
    size = step.label.shape[0]
    if not isinstance(reward, torch.Tensor) or reward.shape != (size,):
        got = tuple(reward.shape) if isinstance(reward, torch.Tensor) else type(reward)
        raise ValueError(f"reward {reward_fn!r} returned {got}, expected a ({size},) tensor")
    return reward.to(torch.float32)
