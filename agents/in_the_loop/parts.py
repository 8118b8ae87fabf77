"""What every in-the-loop face (single env, vector env, SB3 VecEnv) is made of, built in one place.

:func:`loop_parts` checks the env, makes (or checks) the classifier and its :class:`BeliefLoop`
for N envs, or takes another belief source (the hybrids' history), and the agent's action and
observation forms. The faces differ only in how they step the env and report episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from agents.in_the_loop.classifier import ClassifierSettings, OnlineClassifier
from agents.in_the_loop.loop import BeliefLoop, BeliefSource
from agents.in_the_loop.signals import check_classifier_fits, glimpse_core, prediction_loss_of
from agents.in_the_loop.spaces import LocationAction, ObservationForm
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.faces.wrappers import grid_for

__all__ = ["LOOP_OPTIONS", "LoopFace", "LoopParts", "loop_parts"]

LOOP_OPTIONS = (
    "source", "action", "observation", "stride", "learn", "with_state", "settings", "seed"
)  # fmt: skip
"""The keyword options of every face (those of :func:`loop_parts` after ``classifier``)."""


@dataclass
class LoopParts:
    """The checked env core, the belief source, the agent's action and observation forms, and
    whether the classifier learns."""

    core: GlimpseCore
    source: BeliefSource
    actions: LocationAction
    form: ObservationForm
    learn: bool

    @property
    def classifier(self) -> OnlineClassifier | None:
        """The online classifier in the loop (None for another source)."""
        return getattr(self.source, "classifier", None)


class LoopFace:
    """What the three faces share: their :class:`LoopParts` and the agent's last observation.

    Attributes:
        parts: set by the face's constructor (:func:`loop_parts`).
        last: the batch of observations the agent was last given (what the source's logits
            read when the agent acts on it).
    """

    parts: LoopParts
    last: Any = None

    @property
    def classifier(self) -> OnlineClassifier | None:
        """The online classifier in the loop (None for another source)."""
        return self.parts.classifier

    @property
    def source(self) -> BeliefSource:
        return self.parts.source

    def observe(self, glimpse: np.ndarray, location: np.ndarray) -> Any:
        """The agent's observations of a batch (glimpse ``(N, S*C, P, P)``, location ``(N, 2)``
        and the source's features), remembered as :attr:`last`."""
        self.last = self.parts.form.build(glimpse, location, self.source.features())
        return self.last

    def current_logits(self) -> torch.Tensor:
        """``(N, n)``: the belief to send with the agent's action on :attr:`last`."""
        return self.source.logits(self.last).detach()


def loop_parts(
    env: Any,
    face: str,
    num_envs: int,
    classifier: OnlineClassifier | None = None,
    *,
    source: BeliefSource | None = None,
    action: Literal["box", "grid"] = "box",
    observation: Literal["flat", "dict"] = "flat",
    stride: int | None = None,
    learn: bool = True,
    with_state: bool = False,
    settings: ClassifierSettings | None = None,
    seed: int = 0,
) -> LoopParts:
    """The parts of an in-the-loop face over ``env`` (N = ``num_envs`` episodes at once).

    Args:
        env: a glimpse env with its native actions (single or vector).
        face: the wrapper's name, for errors.
        num_envs: N.
        classifier: share this classifier (default: a new one with ``settings`` and ``seed``,
            trained by the env's own prediction loss).
        source: another belief source instead of a classifier (the hybrid agents' history).
        action: ``"box"`` (2 numbers) or ``"grid"`` (a cell of the patch grid at ``stride``).
        observation: ``"flat"`` Box or ``"dict"``.
        learn: train the classifier online on the episodes played.
        with_state: the agent also observes the classifier's recurrent state.

    Raises:
        ValueError: the env or the classifier does not fit (one line naming the mismatch).
    """
    core = glimpse_core(env, face)
    if source is None:
        if classifier is None:
            classifier = OnlineClassifier.for_core(core, settings, prediction_loss_of(env), seed)
        check_classifier_fits(classifier, core, face)
        source = BeliefLoop(classifier, num_envs, learn, with_state)
    grid = grid_for(env, stride) if action == "grid" else None
    actions = LocationAction(action, grid)
    form = ObservationForm(
        observation,
        core.glimpse_shape,
        source.feature_key,
        source.feature_size,
        source.feature_low,
        source.feature_high,
    )
    return LoopParts(core, source, actions, form, learn)
