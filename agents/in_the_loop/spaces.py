"""What the RL agent acts in and observes when a belief source is in the loop.

- :class:`LocationAction`: the agent's action is only where to look next: a ``Box(-1, 1, (2,))``
  (``"box"``) or a cell of the env's patch grid, ``Discrete(G*G)`` (``"grid"``, for DQN).
- :class:`ObservationForm`: the env's glimpse and location plus the source's features (the
  classifier's belief, ...), as one flat ``Box`` (``"flat"``: every library's MLP policies,
  CrossQ and CleanRL scripts take it) or a ``Dict`` (``"dict"``: SB3's MultiInput policies).

>>> form = ObservationForm("flat", (1, 8, 8), "belief", 10, 0.0, 1.0)
>>> form.space.shape  # 64 glimpse pixels, x, y, 10 class probabilities
(76,)
>>> LocationAction("box").decode(np.array([[0.5, 2.0]]), 1).tolist()
[[0.5, 1.0]]
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces

__all__ = ["ACTION_FORMS", "OBSERVATION_FORMS", "LocationAction", "ObservationForm"]

ACTION_FORMS = ("box", "grid")
OBSERVATION_FORMS = ("flat", "dict")


class LocationAction:
    """The location action of one env and its decoding for a batch.

    Args:
        kind: ``"box"`` or ``"grid"``.
        grid: ``(G*G, 2)`` the cells' locations (``"grid"`` only; see
            :func:`glimpse_env.faces.wrappers.grid_for`).
    """

    def __init__(self, kind: Literal["box", "grid"], grid: torch.Tensor | None = None) -> None:
        if kind not in ACTION_FORMS:
            raise ValueError(f"action must be one of {ACTION_FORMS}, got {kind!r}")
        if kind == "grid" and grid is None:
            raise ValueError("a grid action needs the grid's locations")
        self.kind = kind
        self.grid = None if grid is None else grid.detach().to("cpu", torch.float32)
        self.space: spaces.Space = (
            spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
            if kind == "box"
            else spaces.Discrete(len(self.grid))
        )

    def decode(self, actions: Any, batch: int) -> torch.Tensor:
        """Actions of ``batch`` envs (``(B, 2)`` floats or ``(B,)`` cells) -> ``(B, 2)`` locations.

        Raises:
            ValueError: wrong shape, NaN or inf, or a cell outside the grid.
        """
        if self.kind == "box":
            try:
                values = np.asarray(actions, dtype=np.float32)
            except (TypeError, ValueError) as err:
                raise ValueError(f"location actions must be numbers: {err}") from err
            if values.size != batch * 2:
                raise ValueError(
                    f"location actions must have shape ({batch}, 2) (or (2,) for one env), "
                    f"got {values.shape}"
                )
            if not np.isfinite(values).all():
                raise ValueError("location actions must be finite, got NaN or inf")
            return torch.from_numpy(values.reshape(batch, 2)).clamp(-1.0, 1.0)
        cells = np.asarray(actions).reshape(-1)
        size = len(self.grid)
        if cells.size != batch or not np.issubdtype(cells.dtype, np.integer):
            raise ValueError(f"grid actions must be {batch} ints in [0, {size}), got {actions!r}")
        if ((cells < 0) | (cells >= size)).any():
            raise ValueError(f"grid actions must be ints in [0, {size}), got {cells.tolist()}")
        return self.grid[torch.from_numpy(cells.astype(np.int64))]


class ObservationForm:
    """One env's observation: glimpse, location and the source's features, flat or as a Dict.

    Args:
        kind: ``"flat"`` (``[glimpse pixels, x, y, features]``) or ``"dict"``.
        glimpse_shape: ``(S*C, P, P)``.
        feature_key: the Dict key of the features (``"belief"``, ...).
        feature_size: F.
        low: the features' lower bound.
        high: their upper bound.
    """

    def __init__(
        self,
        kind: Literal["flat", "dict"],
        glimpse_shape: tuple[int, ...],
        feature_key: str,
        feature_size: int,
        low: float,
        high: float,
    ) -> None:
        if kind not in OBSERVATION_FORMS:
            raise ValueError(f"observation must be one of {OBSERVATION_FORMS}, got {kind!r}")
        self.kind = kind
        self.glimpse_shape = tuple(glimpse_shape)
        self.feature_key = feature_key
        parts = {
            "glimpse": spaces.Box(0.0, 1.0, self.glimpse_shape, dtype=np.float32),
            "location": spaces.Box(-1.0, 1.0, (2,), dtype=np.float32),
            feature_key: spaces.Box(low, high, (feature_size,), dtype=np.float32),
        }
        if kind == "dict":
            self.space: spaces.Space = spaces.Dict(parts)
        else:
            size = math.prod(self.glimpse_shape)
            lows = np.concatenate([np.zeros(size), -np.ones(2), np.full(feature_size, low)])
            highs = np.concatenate([np.ones(size), np.ones(2), np.full(feature_size, high)])
            self.space = spaces.Box(lows.astype(np.float32), highs.astype(np.float32))

    def build(
        self, glimpse: np.ndarray, location: np.ndarray, features: torch.Tensor
    ) -> np.ndarray | dict[str, np.ndarray]:
        """A batch: ``glimpse (N, S*C, P, P)``, ``location (N, 2)``, ``features (N, F)`` ->
        ``(N, D)`` float32 (flat) or a dict of ``(N, ...)`` arrays."""
        extra = features.detach().cpu().numpy().astype(np.float32, copy=False)
        glimpse = np.asarray(glimpse, dtype=np.float32)
        location = np.asarray(location, dtype=np.float32)
        if self.kind == "dict":
            return {"glimpse": glimpse, "location": location, self.feature_key: extra}
        return np.concatenate([glimpse.reshape(len(glimpse), -1), location, extra], axis=1)

    def row(self, batch: np.ndarray | dict[str, np.ndarray], index: int) -> Any:
        """Env ``index`` of a built batch."""
        if isinstance(batch, dict):
            return {key: value[index] for key, value in batch.items()}
        return batch[index]
