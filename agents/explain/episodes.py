"""Play a recurrent agent on the env's batched core and keep its hidden state after each glimpse.

Any agent with the two methods of :class:`RecurrentAgent` can be explained: RAM's
:class:`~agents.ram.model.RecurrentAttentionModel` has them, and a
:class:`~agents.ram.agent.RAMAgent` is unwrapped to its model. The agent is only read: episodes
are played under ``torch.no_grad()``, so nothing computed from them can train it.

Episodes are deterministic given the core and the seed: the agent sends its policy's mean
locations, and the core draws the initial locations (and any random canvases) from a generator
seeded with ``seed``. On a test core (``fixed_canvases=True``) the same seed gives the same test
episodes to every agent.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

import torch
from tqdm import tqdm

from glimpse_env.core.batched import EpisodeState, GlimpseCore

__all__ = [
    "AgentStep",
    "Episodes",
    "RecurrentAgent",
    "as_recurrent_agent",
    "hidden_features",
    "play",
    "play_split",
    "resolve_core",
    "run_on_observations",
]


class AgentStep(Protocol):
    """What one agent step returns (RAM's :class:`~agents.ram.model.RAMOutput` is one)."""

    hidden: tuple[torch.Tensor, ...]
    location_mean: torch.Tensor
    logits: torch.Tensor


class RecurrentAgent(Protocol):
    """An agent that exposes its hidden state after each glimpse."""

    def initial_state(
        self, batch: int, device: torch.device | str | None = None
    ) -> tuple[torch.Tensor, ...]:
        """The state before the first glimpse: a tuple of ``(B, ...)`` tensors."""
        ...

    def step(
        self, glimpse: torch.Tensor, location: torch.Tensor, hidden: tuple[torch.Tensor, ...]
    ) -> AgentStep:
        """Read glimpse ``(B, S*C, P, P)`` seen at ``location`` ``(B, 2)``."""
        ...


def as_recurrent_agent(agent: Any) -> RecurrentAgent:
    """The :class:`RecurrentAgent` inside ``agent``: itself, or a wrapper's ``.model``
    (:class:`~agents.ram.agent.RAMAgent`)."""
    for candidate in (agent, getattr(agent, "model", None)):
        if callable(getattr(candidate, "step", None)) and callable(
            getattr(candidate, "initial_state", None)
        ):
            return candidate
    raise TypeError(
        f"{type(agent).__name__} is not a recurrent agent: it needs initial_state(batch, device) "
        "and step(glimpse, location, hidden) -> (.hidden, .location_mean, .logits), itself or "
        "as its .model"
    )


def hidden_features(hidden: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The agent's state as one ``(B, D)`` tensor: ``h`` for RAM's RNN, ``[h, c]`` for its LSTM."""
    return torch.cat([part.flatten(1) for part in hidden], dim=-1)


@dataclass(frozen=True)
class Episodes:
    """``B`` episodes of ``T`` glimpses (tensors on one device).

    Attributes:
        index: ``(B,)`` int64, the image's index in the split.
        label: ``(B,)`` int64, the true class.
        canvas: ``(B, C, H, W)`` uint8, the image (or canvas) looked at.
        glimpses: ``(B, T, S*C, P, P)`` float32, glimpse ``t`` as the agent saw it.
        locations: ``(B, T, 2)`` float32, where glimpse ``t`` was taken.
        hiddens: ``(B, T, D)`` float32, the agent's state after glimpse ``t``.
        log_beliefs: ``(B, T, n)`` float32, log-probabilities of the belief after glimpse ``t``.
    """

    index: torch.Tensor
    label: torch.Tensor
    canvas: torch.Tensor
    glimpses: torch.Tensor
    locations: torch.Tensor
    hiddens: torch.Tensor
    log_beliefs: torch.Tensor

    def to(self, device: torch.device | str) -> Episodes:
        return Episodes(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    @staticmethod
    def cat(parts: list[Episodes]) -> Episodes:
        return Episodes(
            **{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(Episodes)}
        )


def resolve_core(env: Any) -> GlimpseCore:
    """The batched core of ``env``: a :class:`GlimpseCore`, a glimpse env made with ``gym.make``
    (or ``make_vec``), or anything with a ``.core``."""
    if isinstance(env, GlimpseCore):
        return env
    for candidate in (env, getattr(env, "unwrapped", None)):
        core = getattr(candidate, "core", None)
        if isinstance(core, GlimpseCore):
            return core
    raise TypeError(f"cannot find the glimpse core of {type(env).__name__}; pass a GlimpseCore")


@torch.no_grad()
def play(agent: Any, core: GlimpseCore, state: EpisodeState) -> Episodes:
    """Play the episodes that ``state`` (fresh from ``core.reset``) starts, to their end.

    The agent sends its mean location and its logits at each of the ``T`` steps.
    """
    model = as_recurrent_agent(agent)
    hidden = model.initial_state(state.batch_size, core.device)
    canvas, index, label = state.canvas, state.index, state.label
    glimpses, locations, hiddens, log_beliefs = [], [], [], []
    for _ in range(core.config.num_glimpses):
        glimpses.append(state.glimpse)
        locations.append(state.location)
        out = model.step(state.glimpse, state.location, hidden)
        hidden = out.hidden
        hiddens.append(hidden_features(hidden))
        log_beliefs.append(torch.log_softmax(out.logits.float(), dim=-1))
        state, _ = core.step(state, out.location_mean, out.logits)
    return Episodes(
        index=index,
        label=label,
        canvas=canvas,
        glimpses=torch.stack(glimpses, 1),
        locations=torch.stack(locations, 1),
        hiddens=torch.stack(hiddens, 1),
        log_beliefs=torch.stack(log_beliefs, 1),
    )


def play_split(
    agent: Any,
    core: GlimpseCore,
    episodes: int | None = None,
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
) -> Episodes:
    """Play the first ``episodes`` images of ``core``'s split (all by default) once each.

    Returns the episodes on the CPU. The initial locations come from a generator seeded with
    ``seed``, drawn batch by batch: the same ``(episodes, seed, batch_size)`` give the same
    episodes.
    """
    count = core.num_images if episodes is None else min(int(episodes), core.num_images)
    if count < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    generator = torch.Generator(device=core.device).manual_seed(seed)
    parts = []
    batches = torch.arange(count, device=core.device).split(batch_size)
    for index in tqdm(batches, desc="episodes", disable=not progress, leave=False):
        parts.append(play(agent, core, core.reset(generator, index=index)).to("cpu"))
    return Episodes.cat(parts)


@torch.no_grad()
def run_on_observations(
    agent: Any, glimpses: torch.Tensor, locations: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Feed an agent a sequence of observations it did not choose (or did).

    Args:
        agent: a :class:`RecurrentAgent` (or a RAMAgent).
        glimpses: ``(B, T, S*C, P, P)``.
        locations: ``(B, T, 2)``.

    Returns:
        ``(hiddens (B, T, D), log_beliefs (B, T, n))`` after each observation.
    """
    model = as_recurrent_agent(agent)
    batch, steps = glimpses.shape[:2]
    hidden = model.initial_state(batch, glimpses.device)
    hiddens, log_beliefs = [], []
    for t in range(steps):
        out = model.step(glimpses[:, t], locations[:, t], hidden)
        hidden = out.hidden
        hiddens.append(hidden_features(hidden))
        log_beliefs.append(torch.log_softmax(out.logits.float(), dim=-1))
    return torch.stack(hiddens, 1), torch.stack(log_beliefs, 1)
