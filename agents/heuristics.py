"""Reference policies that look by a fixed rule: random, centre, fixed scan.

They choose only where to look; their class belief is uniform (zero logits), so their guess is
class 0. For a guess worth comparing, :class:`ClassifierGuessPolicy` pairs one of them with a
classifier trained on the glimpses it sees (:mod:`agents.glimpse_classifier`), and
:class:`ChancePolicy` guesses uniformly at random (the chance level). Each has SB3's
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
import torch

from agents.glimpse_classifier import GlimpseClassifier

__all__ = [
    "DEFAULT_SCAN",
    "CenterPolicy",
    "ChancePolicy",
    "ClassifierGuessPolicy",
    "FixedScanPolicy",
    "HeuristicPolicy",
    "RandomPolicy",
]

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
        num_classes: see :class:`HeuristicPolicy`.
        early_stop: see :class:`HeuristicPolicy`.
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
        num_classes: see :class:`HeuristicPolicy`.
        early_stop: see :class:`HeuristicPolicy`.
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


class ChancePolicy(RandomPolicy):
    """Random locations and a uniformly random guess: the chance level (accuracy about 1/n).

    Args:
        num_classes: see :class:`RandomPolicy`.
        early_stop: see :class:`RandomPolicy`.
        seed: see :class:`RandomPolicy` (one generator for both).
    """

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], Any]:
        action, state = super().predict(observation, state, episode_start, deterministic)
        action["logits"] = self.rng.standard_normal(action["logits"].shape).astype(np.float32)
        return action, state


class ClassifierGuessPolicy:
    """Where a reference policy looks, with the guess of a classifier of what it has seen.

    The state is ``(looker_state, hidden)``: the looker's own state and the classifier's
    ``(B, H)`` float32 GRU state, cleared where ``episode_start`` is true (or ``state`` is None).

    Args:
        looker: the policy that chooses the locations (its logits are replaced).
        classifier: a :class:`~agents.glimpse_classifier.GlimpseClassifier` trained on the
            glimpses ``looker``'s rule sees.
    """

    def __init__(self, looker: HeuristicPolicy, classifier: GlimpseClassifier) -> None:
        self.looker = looker
        self.classifier = classifier.eval()
        self.device = next(classifier.parameters()).device

    @torch.no_grad()
    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: tuple[Any, np.ndarray] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], tuple[Any, np.ndarray]]:
        """The looker's location and the classifier's logits after this glimpse.

        Returns:
            ``({"location": (2,) or (B, 2), "logits": (n,) or (B, n)}, state)``.
        """
        looker_state, hidden = (None, None) if state is None else state
        action, looker_state = self.looker.predict(
            observation, looker_state, episode_start, deterministic
        )
        glimpse, location = (
            torch.as_tensor(np.asarray(observation[key], np.float32), device=self.device)
            for key in ("glimpse", "location")
        )
        batched = location.ndim == 2
        if not batched:
            glimpse, location = glimpse[None], location[None]
        previous = None
        if hidden is not None:
            previous = torch.as_tensor(hidden, device=self.device)
            if episode_start is not None:
                starts = np.broadcast_to(np.asarray(episode_start, bool), (len(location),))
                keep = torch.as_tensor(~starts, dtype=torch.float32, device=self.device)
                previous = previous * keep[:, None]
        logits, new_hidden = self.classifier(glimpse, location, previous)
        logits = logits.cpu().numpy().astype(np.float32)
        action["logits"] = logits if batched else logits[0]
        return action, (looker_state, new_hidden.cpu().numpy())
