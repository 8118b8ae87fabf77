"""The env's learner signals as the wrappers read them, and the checks of the env they wrap.

A learner needs two things from a glimpse env besides observations: the true label of each
episode (``info["label"]``; a training signal, never part of the observation) and the env's
prediction loss ``(logits (B, n), label (B,)) -> (B,)`` (``env.unwrapped.loss_fn``; cross-entropy).
Everything here names the mismatch in one line when they are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from agents.in_the_loop.classifier import LossFn, cross_entropy
from glimpse_env.core.batched import GlimpseCore

__all__ = ["check_classifier_fits", "episode_labels", "glimpse_core", "prediction_loss_of"]


def glimpse_core(env: Any, face: str) -> GlimpseCore:
    """The batched core under ``env`` (single or vector), checked for the in-the-loop wrappers.

    Raises:
        ValueError: not a glimpse env, an env behind an action wrapper (its action space is not
            the native Dict with ``location`` and ``logits``), or an env with early stop.
    """
    core = getattr(getattr(env, "unwrapped", None), "core", None)
    if not isinstance(core, GlimpseCore):
        raise ValueError(
            f"{face} wraps a glimpse env (gym.make('GlimpseEnv-...') or its vector env), "
            f"got {type(env).__name__}"
        )
    space = getattr(env, "single_action_space", None) or env.action_space
    if not isinstance(space, spaces.Dict) or "logits" not in space.spaces:
        raise ValueError(
            f"{face} needs the env's native Dict action (location, logits), got {space}; "
            "wrap the env before any action wrapper"
        )
    if core.config.early_stop:
        raise ValueError(f"{face} does not support early_stop=True (the classifier sends no stop)")
    return core


def check_classifier_fits(classifier: Any, core: GlimpseCore, face: str) -> None:
    """Raise ValueError when a classifier reads other glimpses or classes than ``core`` gives."""
    expected = (tuple(core.glimpse_shape), core.num_classes, core.config.num_glimpses)
    found = (tuple(classifier.glimpse_shape), classifier.num_classes, classifier.num_glimpses)
    if found != expected:
        raise ValueError(
            f"{face}: the classifier reads glimpses {found[0]}, {found[1]} classes, T={found[2]}; "
            f"the env gives glimpses {expected[0]}, {expected[1]} classes, T={expected[2]}"
        )


def prediction_loss_of(env: Any) -> LossFn:
    """The env's differentiable prediction loss (``env.unwrapped.loss_fn``), else cross-entropy."""
    loss_fn = getattr(getattr(env, "unwrapped", env), "loss_fn", None)
    return loss_fn if callable(loss_fn) else cross_entropy


def episode_labels(info: Mapping[str, Any], count: int, face: str) -> torch.Tensor:
    """``info["label"]`` as ``(count,)`` int64: the labels of episodes that just ended.

    Raises:
        ValueError: the info has no ``label`` (an env that does not give learners the label).
    """
    if not isinstance(info, Mapping) or "label" not in info:
        keys = sorted(info) if isinstance(info, Mapping) else type(info).__name__
        raise ValueError(
            f"{face} needs the true label in info['label'] (a glimpse env's learner signal); "
            f"this env's info has {keys}"
        )
    return torch.as_tensor(np.asarray(info["label"], dtype=np.int64).reshape(count))
