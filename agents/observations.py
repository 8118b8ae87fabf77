"""From the env's observation dict (one, or a vector env's batch) to an agent's tensors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["observation_tensors"]


def observation_tensors(
    obs: Mapping[str, Any],
    glimpse_shape: tuple[int, ...],
    device: torch.device | str,
    env_id: str = "?",
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """``(glimpse (B, S*C, P, P), location (B, 2), batched)`` tensors from an observation dict.

    Args:
        obs: ``{"glimpse": (S*C, P, P), "location": (2,)}``, or a batch ``(B, ...)`` of them.
        glimpse_shape: ``(S*C, P, P)`` the agent was trained on.
        device: where the tensors go.
        env_id: the agent's training env, named in the error.

    Raises:
        ValueError: not a dict with ``glimpse`` and ``location``, or shapes that do not fit.

    >>> g, loc, batched = observation_tensors(
    ...     {"glimpse": np.zeros((1, 8, 8)), "location": np.zeros(2)}, (1, 8, 8), "cpu")
    >>> tuple(g.shape), tuple(loc.shape), batched
    ((1, 1, 8, 8), (1, 2), False)
    """
    if not isinstance(obs, Mapping) or "glimpse" not in obs or "location" not in obs:
        raise ValueError("obs must be the env's dict with 'glimpse' and 'location'")
    glimpse = torch.as_tensor(np.asarray(obs["glimpse"], dtype=np.float32), device=device)
    location = torch.as_tensor(np.asarray(obs["location"], dtype=np.float32), device=device)
    shape = tuple(glimpse_shape)
    batched = glimpse.ndim == len(shape) + 1
    if not batched:
        glimpse, location = glimpse[None], location[None]
    if tuple(glimpse.shape[1:]) != shape or tuple(location.shape) != (len(glimpse), 2):
        raise ValueError(
            f"obs must hold glimpse {shape} and location (2,) (or a batch of them: "
            f"(B, *{shape}), (B, 2)); got glimpse {tuple(np.shape(obs['glimpse']))} and "
            f"location {tuple(np.shape(obs['location']))}. Is this the env the agent was "
            f"trained on ({env_id})?"
        )
    return glimpse, location, batched
