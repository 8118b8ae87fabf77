"""Episodes of ``R`` stacked runs on the envs' batched cores, with no host synchronisation.

:func:`stacked_rollout` plays one batch of ``B`` episodes for each of the ``R`` runs of a
:class:`~agents.ram.stacked.StackedRAM`. It drives the env's batched core
(:class:`~glimpse_env.core.batched.GlimpseCore`) by its parts: the core's canvases, summed-area
tables and sensor for the glimpses, and the core's reward plugin for the rewards, with the same
semantics as ``core.reset`` + ``core.step`` (the tests check that they agree). Unlike those, it
never reads a tensor's value on the host: episodes without early stop end after exactly ``T``
steps, so which step moves and which ends is known from the loop counter, not from the tensors.
On a GPU the whole batch is queued without waiting for the device.

Each run has its own ``torch.Generator`` and draws from it in the order the single-run trainer
does (canvases, initial locations, then one ``(B, 2)`` normal draw per moving step), so a run
plays the same episodes whether it is stepped alone or with others. Runs may step different
cores (say translated60 and cluttered60) as long as the model shapes agree; consecutive runs on
one core share its calls.

Rewards depend only on the beliefs, the label and the step, never on where the agent looks, so
they are computed after the loop for all ``T`` steps at once, as are the class logits and the
baseline (one batched matmul each instead of ``T``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from agents.ram.model import gaussian_location
from agents.ram.rollout import Rollout
from agents.ram.stacked import StackedRAM
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.rewards import RewardInput, checked_reward
from glimpse_env.core.sensor import integral_image

__all__ = ["Segment", "check_cores", "segments_of", "stacked_rollout"]


@dataclass(frozen=True)
class Segment:
    """Consecutive runs ``runs`` that step one core."""

    core: GlimpseCore
    runs: slice


def segments_of(cores: Sequence[GlimpseCore]) -> list[Segment]:
    """Group consecutive runs with the same core object: ``cores[r]`` is run ``r``'s core."""
    segments: list[Segment] = []
    start = 0
    for run in range(1, len(cores) + 1):
        if run == len(cores) or cores[run] is not cores[start]:
            segments.append(Segment(cores[start], slice(start, run)))
            start = run
    return segments


def check_cores(cores: Sequence[GlimpseCore]) -> None:
    """Raise ValueError unless the runs' cores can share one stacked model and one loop."""
    if not cores:
        raise ValueError("no runs: give at least one core")
    first = cores[0]
    for core in cores[1:]:
        for what, a, b in (
            ("glimpse shape", first.glimpse_shape, core.glimpse_shape),
            ("number of glimpses", first.config.num_glimpses, core.config.num_glimpses),
            ("number of classes", first.num_classes, core.num_classes),
            ("device", first.device, core.device),
        ):
            if a != b:
                raise ValueError(
                    f"runs trained together must share the {what} ({a} vs {b}); train them "
                    "in separate groups"
                )


def initial_locations(core: GlimpseCore, batch: int, generator: torch.Generator) -> torch.Tensor:
    """``(B, 2)``: where glimpse 1 is taken, drawn as ``core.reset`` draws it."""
    if core.config.initial_location == "random":
        return torch.rand(batch, 2, generator=generator, device=core.device) * 2 - 1
    return torch.zeros(batch, 2, device=core.device)


def step_rewards(core: GlimpseCore, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """The core's rewards of whole episodes from their beliefs, as ``core.step`` gives them.

    Args:
        core: the env's core (its reward plugin and ``T``).
        logits: ``(R, T, B, n)`` the belief sent at each step.
        label: ``(R, B)`` the true classes.

    Returns:
        ``(R, T, B)`` float32: step ``t`` (0-based) is scored with the belief before it (uniform
        at ``t = 0``), ``t + 1`` glimpses seen, and ``terminal`` at ``t = T - 1``.
    """
    runs, steps, batch, n = logits.shape
    log_belief = torch.log_softmax(logits.detach().to(torch.float32), dim=-1)
    uniform = torch.full_like(log_belief[:, :1], -math.log(n))
    previous = torch.cat([uniform, log_belief[:, :-1]], 1)
    t = torch.arange(1, steps + 1, device=logits.device)[None, :, None].expand(runs, -1, batch)
    step = RewardInput(
        log_belief=log_belief.reshape(-1, n),
        prev_log_belief=previous.reshape(-1, n),
        label=label[:, None].expand(-1, steps, -1).reshape(-1),
        terminal=(t == steps).reshape(-1),
        t=t.reshape(-1),
    )
    return checked_reward(core.reward_fn, step).view(runs, steps, batch)


def stacked_rollout(
    model: StackedRAM,
    cores: Sequence[GlimpseCore],
    index: torch.Tensor,
    generators: Sequence[torch.Generator],
    deterministic: bool = False,
) -> Rollout:
    """Play one batch of episodes for each run to its end.

    Args:
        model: the ``R`` runs' models.
        cores: ``R`` cores, run ``r``'s at ``cores[r]`` (the same object for runs of one env).
        index: ``(R, B)`` the images each run's episodes show (indices into its core's split).
        generators: ``R`` generators on the cores' device: each run's canvases, initial
            locations and location samples.
        deterministic: send the policies' mean locations instead of samples.

    Returns:
        A :class:`~agents.ram.rollout.Rollout` with a run dimension after the step dimension:
        logits ``(T, R, B, n)``, log_probs and baselines ``(T-1, R, B)``, rewards ``(T, R, B)``,
        locations ``(T, R, B, 2)``, label ``(R, B)``; :func:`~agents.ram.rollout.hybrid_loss`
        gives per-run losses of it.
    """
    runs, batch = index.shape
    check_cores(cores)
    if runs != model.num_runs or len(cores) != runs or len(generators) != runs:
        raise ValueError(
            f"{model.num_runs} stacked runs need {model.num_runs} rows of index, cores and "
            f"generators; got {runs}, {len(cores)} and {len(generators)}"
        )
    segments = segments_of(cores)
    num_steps = cores[0].config.num_glimpses
    # --- reset: each run draws its canvases, then its initial locations
    canvases, locations = [], []
    for run, (core, generator) in enumerate(zip(cores, generators, strict=True)):
        canvases.append(core.canvases(index[run], generator))
        locations.append(initial_locations(core, batch, generator))
    tables = [integral_image(torch.cat(canvases[s.runs])) for s in segments]
    label = torch.stack([core.labels[i] for core, i in zip(cores, index, strict=True)])

    def sense(location: torch.Tensor) -> torch.Tensor:
        """``(R, B, D)`` glimpses at ``location (R, B, 2)``."""
        parts = [
            s.core.glimpse(table, location[s.runs].reshape(-1, 2))
            for s, table in zip(segments, tables, strict=True)
        ]
        return torch.cat(parts).view(runs, batch, -1)

    location = torch.stack(locations)
    glimpse = sense(location)
    weights = model.weights()
    hidden = None
    states, log_probs, trail = [], [], [location]
    for t in range(num_steps):
        hidden = model.core_step(weights, glimpse, location, hidden)
        states.append(hidden[0])
        if t == num_steps - 1:
            break
        mean = model.location_mean(weights, hidden[0])
        if deterministic:
            location = mean.detach()
        else:
            noise = torch.stack(
                [torch.randn((batch, 2), generator=g, device=mean.device) for g in generators]
            )
            location, log_prob = gaussian_location(mean, noise, model.config.location_std)
            log_probs.append(log_prob)
        trail.append(location)
        glimpse = sense(location)

    h = torch.stack(states, 1)  # (R, T, B, H)
    logits, baselines = model.heads(weights, h.flatten(1, 2))
    logits = logits.view(runs, num_steps, batch, -1)
    baselines = baselines.view(runs, num_steps, batch)[:, :-1]
    rewards = torch.cat(
        [step_rewards(s.core, logits[s.runs], label[s.runs]) for s in segments]
    )  # (R, T, B)
    return Rollout(
        logits=logits.transpose(0, 1),
        log_probs=torch.stack(log_probs) if log_probs else None,
        baselines=baselines.transpose(0, 1),
        rewards=rewards.transpose(0, 1),
        locations=torch.stack(trail),
        label=label,
    )
