"""Which pixels an agent has seen: the union of its glimpses' squares, as the sensor cuts them.

A glimpse at ``(x, y)`` covers ``S`` concentric squares of sides ``P, P*k, ...``; where each one
starts is :func:`glimpse_env.core.sensor.square_starts`, the sensor's own rounding, so a mask here
is
exactly the set of pixels that fed a glimpse (at some resolution).

>>> import torch
>>> mask = footprint_masks(torch.zeros(1, 1, 2), (28, 28), patch_size=8)
>>> mask.shape, int(mask.sum()), mask[0, 0, 10:18, 10:18].all().item()
(torch.Size([1, 1, 28, 28]), 64, True)
"""

from __future__ import annotations

import torch

from glimpse_env.core.sensor import square_starts

__all__ = ["footprint_masks", "glimpse_sides"]


def glimpse_sides(patch_size: int, num_scales: int = 1, scale_factor: int = 2) -> list[int]:
    """Sides in pixels of a glimpse's squares, smallest first: ``[P, P*k, ..., P*k^(S-1)]``."""
    return [patch_size * scale_factor**s for s in range(num_scales)]


def footprint_masks(
    locations: torch.Tensor,
    size: tuple[int, int],
    patch_size: int,
    num_scales: int = 1,
    scale_factor: int = 2,
    cumulative: bool = True,
) -> torch.Tensor:
    """Pixels covered by glimpses at ``locations``.

    Args:
        locations: ``(B, T, 2)`` glimpse centres ``(x, y)`` in ``[-1, 1]``, in the order seen.
        size: the image's ``(H, W)``.
        patch_size: the sensor's ``P``.
        num_scales: its ``S``.
        scale_factor: its ``k``.
        cumulative: mask ``t`` is the union of glimpses ``1..t`` (what was seen so far); False:
            glimpse ``t`` alone.

    Returns:
        ``(B, T, H, W)`` bool.
    """
    if locations.ndim != 3 or locations.shape[-1] != 2:
        raise ValueError(f"locations must be (B, T, 2), got {tuple(locations.shape)}")
    batch, steps = locations.shape[:2]
    height, width = size
    device = locations.device
    sides = torch.tensor(glimpse_sides(patch_size, num_scales, scale_factor), device=device)
    rows, cols = square_starts(locations.reshape(-1, 2), (height, width), sides)  # (B*T, S)
    r = torch.arange(height, device=device)
    c = torch.arange(width, device=device)
    in_rows = (r >= rows[..., None]) & (r < (rows + sides)[..., None])  # (B*T, S, H)
    in_cols = (c >= cols[..., None]) & (c < (cols + sides)[..., None])  # (B*T, S, W)
    mask = (in_rows[..., :, None] & in_cols[..., None, :]).any(dim=1)  # (B*T, H, W)
    mask = mask.reshape(batch, steps, height, width)
    if cumulative:
        mask = torch.cummax(mask.to(torch.uint8), dim=1).values.bool()
    return mask
