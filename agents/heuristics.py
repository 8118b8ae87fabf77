"""Reference policies that look by a fixed rule: random, centre, fixed scan.

They choose only where to look; their class belief is uniform (zero logits), so their guess is
class 0 (a later issue adds classifiers for the guess). Each has Stable-Baselines3's
``predict(observation, state=None, episode_start=None, deterministic=True) -> (action, state)``
and returns the environment's native Dict action; a batched observation (``location`` of shape
``(B, 2)``) gives a batched action.

>>> import numpy as np
>>> obs = {"glimpse": np.zeros((1, 8, 8), np.float32), "location": np.zeros(2, np.float32)}
>>> action, _ = CenterPolicy(num_classes=10).predict(obs)
>>> action["location"].tolist(), action["logits"].shape
([0.0, 0.0], (10,))
>>> scan = FixedScanPolicy([(-0.5, -0.5), (0.5, 0.5)], num_classes=10)
>>> a1, state = scan.predict(obs)
>>> a2, state = scan.predict(obs, state)
>>> a1["location"].tolist(), a2["location"].tolist()
([-0.5, -0.5], [0.5, 0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["DEFAULT_SCAN", "CenterPolicy", "FixedScanPolicy", "HeuristicPolicy", "RandomPolicy"]

DEFAULT_SCAN: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (-0.5, -0.5),
    (0.5, -0.5),
    (0.5, 0.5),
    (-0.5, 0.5),
)
"""The centre, then the centres of the four quadrants clockwise from the top-left."""


class HeuristicPolicy:
    """Base class: subclasses say where to look (:meth:`locations`); the belief is uniform.

    Args:
        num_classes: ``n``, the length of the ``logits`` action.
        early_stop: the env has a ``stop`` action (these policies never stop early).
    """

    def __init__(self, num_classes: int, early_stop: bool = False) -> None:
        self.num_classes = int(num_classes)
        self.early_stop = early_stop

    def locations(
        self, batch: int, state: Any, episode_start: np.ndarray | None
    ) -> tuple[np.ndarray, Any]:
        """Where to look next: ``(B, 2)`` float32 ``(x, y)`` in [-1, 1], and the new state."""
        raise NotImplementedError

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], Any]:
        """The next action for one observation (or a batch), SB3-style.

        Returns:
            ``({"location": (2,) or (B, 2) float32, "logits": (n,) or (B, n) float32
            [, "stop": () or (B,) int64]}, state)``.
        """
        location = np.asarray(observation["location"])
        batched = location.ndim == 2
        batch = location.shape[0] if batched else 1
        where, state = self.locations(batch, state, episode_start)
        action: dict[str, np.ndarray] = {
            "location": where.astype(np.float32),
            "logits": np.zeros((batch, self.num_classes), np.float32),
        }
        if self.early_stop:
            action["stop"] = np.zeros(batch, np.int64)
        if not batched:
            action = {key: value[0] for key, value in action.items()}
        return action, state


class RandomPolicy(HeuristicPolicy):
    """Looks at uniformly random locations in [-1, 1]^2 (also when ``deterministic``).

    Args:
        num_classes, early_stop: see :class:`HeuristicPolicy`.
        seed: seed of the policy's own random generator.
    """

    def __init__(self, num_classes: int, early_stop: bool = False, seed: int | None = None):
        super().__init__(num_classes, early_stop)
        self.rng = np.random.default_rng(seed)

    def locations(
        self, batch: int, state: Any, episode_start: np.ndarray | None
    ) -> tuple[np.ndarray, Any]:
        return self.rng.uniform(-1.0, 1.0, (batch, 2)), state


class CenterPolicy(HeuristicPolicy):
    """Always looks at the centre ``(0, 0)``."""

    def locations(
        self, batch: int, state: Any, episode_start: np.ndarray | None
    ) -> tuple[np.ndarray, Any]:
        return np.zeros((batch, 2)), state


class FixedScanPolicy(HeuristicPolicy):
    """Looks at a fixed sequence of locations, in order, cycling if the episode is longer.

    The k-th action of an episode is ``scan[k % len(scan)]``: the location of glimpse ``k + 2``
    (the first glimpse is where the env starts it). The step counter is the recurrent
    ``state`` (``(B,)`` int64): pass it back each call; ``state=None`` or ``episode_start`` true
    starts the scan over.

    Args:
        scan: ``(x, y)`` locations in [-1, 1]^2.
        num_classes, early_stop: see :class:`HeuristicPolicy`.
    """

    def __init__(
        self,
        scan: Sequence[tuple[float, float]] = DEFAULT_SCAN,
        num_classes: int = 10,
        early_stop: bool = False,
    ) -> None:
        super().__init__(num_classes, early_stop)
        self.scan = np.asarray(scan, dtype=np.float32).reshape(-1, 2)
        if len(self.scan) == 0 or np.abs(self.scan).max() > 1:
            raise ValueError(f"scan must be a non-empty list of (x, y) in [-1, 1], got {scan!r}")

    def locations(
        self, batch: int, state: Any, episode_start: np.ndarray | None
    ) -> tuple[np.ndarray, Any]:
        step = np.zeros(batch, np.int64) if state is None else np.asarray(state, np.int64)
        if episode_start is not None:
            step = np.where(np.asarray(episode_start, bool).reshape(-1), 0, step)
        return self.scan[step % len(self.scan)], step + 1
