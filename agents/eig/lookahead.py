"""Where to look next: the expected information gain (EIG) of every unvisited grid cell.

For a state ``h_t`` with belief ``p(y | h_t)``, the partial VAE draws ``P`` latents
``z ~ q(z | h_t)`` and decodes each into imagined features ``f~`` of all ``L`` cells; the model
then says what it would believe after a glimpse at cell ``l``, ``p(y | f~_l, h_t)``. The score is::

    EIG(l) = 1/P sum_p KL[ p(y | f~_l^(p), h_t) || p(y | h_t) ]

All ``B x P x L`` imagined glimpses go through R and C in one batched pass. Visited cells are
never chosen; the next location is the argmax over the others.

>>> current = torch.log(torch.tensor([[0.5, 0.5]]))  # (B=1, n=2)
>>> imagined = torch.log(torch.tensor([[[[0.5, 0.5], [0.9, 0.1]]]]))  # (B=1, P=1, L=2, n=2)
>>> information_gain(imagined, current)  # KL of (0.9, 0.1) from (0.5, 0.5) at cell 1
tensor([[0.0000, 0.3681]])
"""

from __future__ import annotations

import torch

__all__ = [
    "expected_information_gain",
    "information_gain",
    "masked_argmax",
    "nearest_cell",
    "visited_mask",
]


def information_gain(imagined_log_probs: torch.Tensor, log_belief: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ``KL[p(y | f~_l, h) || p(y | h)]``.

    Args:
        imagined_log_probs: ``(B, P, L, n)`` log-probabilities after an imagined glimpse.
        log_belief: ``(B, n)`` the current log-probabilities.

    Returns:
        ``(B, L)`` in nats (>= 0).
    """
    p = imagined_log_probs.exp()
    kl = (p * (imagined_log_probs - log_belief[:, None, None, :])).sum(-1)  # (B, P, L)
    return kl.mean(1)


@torch.no_grad()
def expected_information_gain(
    model: torch.nn.Module,
    h: torch.Tensor,
    num_samples: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """EIG of a glimpse at every grid cell, for every episode of the batch.

    Args:
        model: an :class:`~agents.eig.model.EIGModel` (or anything with its ``classifier``,
            ``vae.posterior.rsample``, ``vae.decoder`` and ``imagined_logits``).
        h: ``(B, H)`` the current states.
        num_samples: ``P`` latent samples per episode.
        generator: RNG of the samples.

    Returns:
        ``(B, L)`` EIG in nats, visited cells included (see :func:`masked_argmax`).
    """
    log_belief = torch.log_softmax(model.classifier(h), -1)
    z, _ = model.vae.posterior.rsample(h, num_samples, generator)  # (B, P, Z)
    features = model.vae.decoder(z.flatten(0, 1)).unflatten(0, z.shape[:2])  # (B, P, L, D)
    imagined = torch.log_softmax(model.imagined_logits(h, features), -1)
    return information_gain(imagined, log_belief)


def masked_argmax(scores: torch.Tensor, visited: torch.Tensor) -> torch.Tensor:
    """The best unvisited cell of each row: ``(B, L)`` scores and bools -> ``(B,)`` int64.

    Rows with every cell visited fall back to the best cell overall.
    """
    masked = scores.masked_fill(visited, float("-inf"))
    full = visited.all(-1, keepdim=True)
    return torch.where(full, scores, masked).argmax(-1)


def nearest_cell(location: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """The grid cell closest to each location: ``(B, 2)``, ``(L, 2)`` -> ``(B,)`` int64."""
    return torch.cdist(location.to(grid.dtype), grid).argmin(-1)


def visited_mask(cells: torch.Tensor, num_cells: int) -> torch.Tensor:
    """``(T, B)`` cells -> ``(T, B, L)`` bool: entry ``t`` marks the cells seen up to step ``t``."""
    one_hot = torch.nn.functional.one_hot(cells, num_cells)
    return one_hot.cummax(0).values.bool()
