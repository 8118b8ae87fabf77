"""Play a batch of episodes of the batched core with the model, and the hybrid loss.

The model and the env meet here, on tensors that stay on the device: at each step the model reads
the glimpse, sends ``(next location, class logits)`` to :meth:`GlimpseCore.step`, and the core's
reward plugin scores the logits. Step ``t``'s location is only an action (sampled without
gradient); its log-probability is what REINFORCE trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from agents.ram.model import RecurrentAttentionModel
from glimpse_env.core.batched import EpisodeState, GlimpseCore

__all__ = ["Losses", "Rollout", "hybrid_loss", "returns_to_go", "rollout"]


@dataclass(frozen=True)
class Rollout:
    """A batch of ``B`` finished episodes of ``T`` steps.

    Attributes:
        logits: ``(T, B, n)`` the class belief sent at each step (the last one is the guess);
            stacked runs (:mod:`agents.ram.stacked_rollout`) put a run dimension before ``B``
            in every field: ``(T, R, B, n)``, label ``(R, B)``.
        log_probs: ``(T-1, B)`` log-probabilities of the locations that moved the glimpse
            (steps ``1..T-1``; the last step's location is never used), or None when the
            locations were the policy's means.
        baselines: ``(T-1, B)`` the baseline's estimate at those steps.
        rewards: ``(T, B)`` the env's reward at each step.
        locations: ``(T, B, 2)`` where each of the ``T`` glimpses was taken.
        label: ``(B,)`` the true classes, revealed by the env at the end of the episodes.
    """

    logits: torch.Tensor
    log_probs: torch.Tensor | None
    baselines: torch.Tensor
    rewards: torch.Tensor
    locations: torch.Tensor
    label: torch.Tensor


def rollout(
    model: RecurrentAttentionModel,
    core: GlimpseCore,
    state: EpisodeState,
    generator: torch.Generator | None = None,
    deterministic: bool = False,
) -> Rollout:
    """Play the episodes that ``state`` (fresh from ``core.reset``) starts, to their end.

    Args:
        model: the RAM.
        core: the env's batched core (``num_glimpses`` steps per episode, no early stop used).
        state: ``B`` freshly reset episodes.
        generator: the RNG of the location samples (on the core's device).
        deterministic: send the policy's mean locations instead of samples.
    """
    num_steps = core.config.num_glimpses
    hidden = model.initial_state(state.batch_size)
    logits, log_probs, baselines, rewards, locations = [], [], [], [], []
    for t in range(num_steps):
        locations.append(state.location)
        out = model.step(state.glimpse, state.location, hidden)
        hidden = out.hidden
        last = t == num_steps - 1
        if deterministic or last:
            location = out.location_mean.detach()
        else:
            location, log_prob = model.sample_location(out.location_mean, generator)
            log_probs.append(log_prob)
        if not last:
            baselines.append(out.baseline)
        state, result = core.step(state, location, out.logits.detach())
        logits.append(out.logits)
        rewards.append(result.reward)
    if not bool(result.terminated.all()):
        raise RuntimeError("episodes did not end after num_glimpses steps")
    empty = state.location.new_zeros(0, state.batch_size)
    return Rollout(
        logits=torch.stack(logits),
        log_probs=torch.stack(log_probs) if log_probs else None,
        baselines=torch.stack(baselines) if baselines else empty,
        rewards=torch.stack(rewards),
        locations=torch.stack(locations),
        label=state.label,
    )


def returns_to_go(rewards: torch.Tensor) -> torch.Tensor:
    """Undiscounted returns ``R_t = r_t + r_{t+1} + ... + r_T`` of ``(T, B)`` rewards."""
    return rewards.flip(0).cumsum(0).flip(0)


@dataclass(frozen=True)
class Losses:
    """The hybrid loss and its parts: scalars, or ``(R,)`` per run for stacked runs."""

    total: torch.Tensor
    cross_entropy: torch.Tensor
    reinforce: torch.Tensor
    baseline: torch.Tensor


def hybrid_loss(episodes: Rollout, reinforce_weight: float = 1.0) -> Losses:
    """Cross-entropy on the final belief + REINFORCE with the learned baseline + baseline MSE.

    The location sampled at step ``t`` decides glimpse ``t+1``, so it is credited with the
    rewards from step ``t+1`` on: ``R_{t+1}``. The advantage ``R_{t+1} - b_t`` is detached (the
    baseline learns only from its MSE), and the rewards are plain numbers from the env's reward
    plugin, so REINFORCE never reaches the classifier.

    Episodes of one run (``label (B,)``) give scalar losses; episodes of ``R`` stacked runs
    (:func:`agents.ram.stacked_rollout.stacked_rollout`, ``label (R, B)``) give ``(R,)`` losses,
    each the loss its run would have alone (means over its own ``B`` episodes).
    """
    label = episodes.label
    logits = episodes.logits[-1]  # (..., B, n)
    cross_entropy = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), label.reshape(-1), reduction="none"
    )
    cross_entropy = cross_entropy.view(label.shape).mean(-1)
    target = returns_to_go(episodes.rewards)[1:].detach()  # (T-1, ..., B): R_{t+1}
    advantage = (target - episodes.baselines).detach()
    if episodes.log_probs is not None:
        reinforce = -(episodes.log_probs * advantage).sum(0).mean(-1)
    elif len(target) == 0:  # one glimpse: no location is ever chosen
        reinforce = torch.zeros_like(cross_entropy)
    else:
        raise ValueError("hybrid_loss needs sampled locations (deterministic=False)")
    if len(target):
        baseline = (episodes.baselines - target).square().mean((0, -1))
    else:
        baseline = torch.zeros_like(cross_entropy)
    total = cross_entropy + reinforce_weight * reinforce + baseline
    return Losses(total, cross_entropy, reinforce, baseline)
