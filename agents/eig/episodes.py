"""Play batches of episodes on the env's batched core, choosing glimpses by a rule.

The agent acts through the env's own step (:meth:`glimpse_env.core.batched.GlimpseCore.step`): the
first
glimpse is where the env's reset put it (uniform random in [-1, 1]^2, or the centre), and every
later location is a cell of the grid (:attr:`agents.eig.model.EIGModel.grid`, the env's discrete
location grid). A continuous first location counts as a visit to its nearest cell.

Rules for glimpses ``2..T``:

- ``"eig"``: the unvisited cell of highest expected information gain (the paper's agent);
- ``"random"``: a uniformly random unvisited cell (the paper's baseline; phase 1's glimpses);
- ``"center"``: the unvisited cell nearest the image centre (the centre, then outward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from agents.eig.lookahead import expected_information_gain, masked_argmax, nearest_cell
from agents.eig.model import EIGModel
from glimpse_env.core.batched import EpisodeState, GlimpseCore

__all__ = ["RULES", "Episodes", "Rule", "cell_features", "choose_cells", "play"]

Rule = Literal["eig", "random", "center"]
RULES: tuple[str, ...] = ("eig", "random", "center")


@dataclass(frozen=True)
class Episodes:
    """A batch of ``B`` finished episodes of ``T`` glimpses.

    Attributes:
        logits: ``(T, B, n)`` the belief after each glimpse (the last one is the guess).
        hidden: ``(T, B, H)`` the state after each glimpse.
        locations: ``(T, B, 2)`` where each glimpse was taken.
        cells: ``(T, B)`` the grid cell of each glimpse (the nearest one for the first).
        eig: ``(T-1, B, L)`` the EIG maps that chose glimpses ``2..T`` (rule ``"eig"``), else None.
        label: ``(B,)`` the true classes.
    """

    logits: torch.Tensor
    hidden: torch.Tensor
    locations: torch.Tensor
    cells: torch.Tensor
    eig: torch.Tensor | None
    label: torch.Tensor


def choose_cells(
    rule: Rule,
    model: EIGModel,
    h: torch.Tensor,
    visited: torch.Tensor,
    generator: torch.Generator | None = None,
    num_samples: int = 8,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The next cell of each episode: ``(cells (B,), eig (B, L) or None)``.

    Args:
        rule: ``"eig"``, ``"random"`` or ``"center"``.
        model: the model (its grid; its VAE for ``"eig"``).
        h: ``(B, H)`` the current states.
        visited: ``(B, L)`` bool, cells already seen (never chosen while others remain).
        generator: RNG of the latent samples (``"eig"``) or of the random cells.
        num_samples: ``P``, latent samples of the lookahead.
    """
    batch, cells = visited.shape
    if rule == "eig":
        eig = expected_information_gain(model, h, num_samples, generator)
        return masked_argmax(eig, visited), eig
    if rule == "random":
        scores = torch.rand((batch, cells), generator=generator, device=visited.device)
    elif rule == "center":
        scores = -model.grid.pow(2).sum(-1).expand(batch, cells)
    else:
        raise ValueError(f"unknown rule {rule!r}; rules: {', '.join(RULES)}")
    return masked_argmax(scores, visited), None


def play(
    model: EIGModel,
    core: GlimpseCore,
    state: EpisodeState,
    rule: Rule,
    generator: torch.Generator | None = None,
    num_samples: int = 8,
) -> Episodes:
    """Play the episodes that ``state`` (fresh from ``core.reset``) starts, to their end.

    Gradients flow through F, R and C (the lookahead itself runs without them); wrap the call in
    ``torch.no_grad()`` when none are needed.
    """
    num_steps = core.config.num_glimpses
    grid = model.grid
    h = model.initial_state(state.batch_size)
    cell = nearest_cell(state.location, grid)
    visited = torch.nn.functional.one_hot(cell, len(grid)).bool()
    logits, hidden, locations, cells, maps = [], [], [], [], []
    for t in range(num_steps):
        locations.append(state.location)
        cells.append(cell)
        h, step_logits = model.observe(state.glimpse, state.location, h)
        logits.append(step_logits)
        hidden.append(h)
        location = state.location  # ignored by the env at the last step
        if t < num_steps - 1:
            cell, eig = choose_cells(rule, model, h.detach(), visited, generator, num_samples)
            visited = visited | torch.nn.functional.one_hot(cell, len(grid)).bool()
            location = grid[cell]
            if eig is not None:
                maps.append(eig)
        state, result = core.step(state, location, step_logits.detach())
    if not bool(result.terminated.all()):
        raise RuntimeError("episodes did not end after num_glimpses steps")
    return Episodes(
        logits=torch.stack(logits),
        hidden=torch.stack(hidden),
        locations=torch.stack(locations),
        cells=torch.stack(cells),
        eig=torch.stack(maps) if maps else None,
        label=state.label,
    )


@torch.no_grad()
def cell_features(model: EIGModel, core: GlimpseCore, state: EpisodeState) -> torch.Tensor:
    """The true glimpse features ``f`` of every grid cell of each episode's image: ``(B, L, D)``.

    The glimpses are cut by the env's own sensor at the grid's locations; they are the partial
    VAE's targets (only the visited cells' count).
    """
    grid = model.grid
    batch, cells = state.batch_size, len(grid)
    table = state.table.repeat_interleave(cells, 0)
    glimpses = core.glimpse(table, grid.repeat(batch, 1))  # (B*L, S*C, P, P)
    return model.features.glimpse_features(glimpses).unflatten(0, (batch, cells))
