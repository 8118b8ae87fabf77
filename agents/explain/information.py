"""Information per glimpse, from the agent's class belief ``p_t(y)`` after each glimpse.

For an episode of ``T`` glimpses over ``n`` classes with true class ``y``:

- entropy ``H_t = -sum_k p_t(k) log p_t(k)`` (nats), with ``H_0 = log n`` (the uniform belief
  before the first glimpse, as the env's rewards assume);
- information gain ``G_t = H_{t-1} - H_t``, so ``sum_t G_t = log n - H_T``;
- ``log p_t(y)``, the log-probability of the true class;
- correct ``argmax p_t == y`` (accuracy when averaged).

>>> import math, torch
>>> log_p = torch.log(torch.tensor([[[0.5, 0.5], [0.1, 0.9]]]))  # 1 episode, T = 2, n = 2
>>> info = belief_information(log_p, torch.tensor([1]))  # a tie's argmax is the first class
>>> round(float(info["entropy"][0, 0]), 4) == round(math.log(2), 4), info["correct"].tolist()
(True, [[False, True]])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from agents.explain.episodes import Episodes, play_split, resolve_core
from glimpse_env.core.rewards import entropy

__all__ = ["CURVES", "belief_information", "belief_trajectory", "mean_curves"]

CURVES = ("entropy", "information_gain", "log_p_true", "accuracy")
"""The per-glimpse curves of :func:`mean_curves`, in the order they are reported."""


def belief_information(log_beliefs: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-episode information from the beliefs after each glimpse.

    Args:
        log_beliefs: ``(N, T, n)`` log-probabilities of the belief after glimpse ``1..T``.
        labels: ``(N,)`` the true classes.

    Returns:
        ``entropy`` ``(N, T+1)`` (column 0 is ``H_0 = log n``), ``information_gain`` ``(N, T)``,
        ``log_p_true`` ``(N, T)``, ``correct`` ``(N, T)`` bool; float64 numpy arrays.
    """
    log_p = torch.as_tensor(log_beliefs).to(torch.float64)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    count, steps, classes = log_p.shape
    if labels.shape != (count,):
        raise ValueError(f"labels must be ({count},), got {tuple(labels.shape)}")
    if count and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ValueError(f"labels must lie in [0, {classes}): the belief has {classes} classes")
    h0 = torch.full((count, 1), math.log(classes), dtype=torch.float64)
    h = torch.cat([h0, entropy(log_p)], dim=1)  # (N, T+1)
    index = labels[:, None, None].expand(count, steps, 1)
    return {
        "entropy": h.numpy(),
        "information_gain": (h[:, :-1] - h[:, 1:]).numpy(),
        "log_p_true": log_p.gather(2, index)[..., 0].numpy(),
        "correct": (log_p.argmax(-1) == labels[:, None]).numpy(),
    }


def mean_curves(info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Means over episodes of :func:`belief_information`'s arrays.

    Returns:
        ``entropy`` ``(T+1,)`` (from ``H_0``), ``information_gain``, ``log_p_true``,
        ``accuracy`` ``(T,)``; plus ``reconstruction_mse`` ``(T,)`` if ``info`` has it
        (``(N, T)``).
    """
    curves = {
        "entropy": info["entropy"].mean(0),
        "information_gain": info["information_gain"].mean(0),
        "log_p_true": info["log_p_true"].mean(0),
        "accuracy": info["correct"].astype(np.float64).mean(0),
    }
    if "reconstruction_mse" in info:
        curves["reconstruction_mse"] = np.asarray(info["reconstruction_mse"]).mean(0)
    return curves


def episodes_as_arrays(episodes: Episodes) -> dict[str, np.ndarray]:
    """The :class:`Episodes` fields as numpy arrays, with their information added."""
    arrays: dict[str, np.ndarray] = {
        "index": episodes.index.numpy(),
        "label": episodes.label.numpy(),
        "canvas": episodes.canvas.numpy(),
        "glimpse": episodes.glimpses.numpy(),
        "location": episodes.locations.numpy(),
        "hidden": episodes.hiddens.numpy(),
        "log_belief": episodes.log_beliefs.numpy(),
    }
    arrays.update(belief_information(episodes.log_beliefs, episodes.label))
    return arrays


def belief_trajectory(
    agent: Any,
    env: Any,
    episodes: int | None = None,
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Play ``agent`` on the first ``episodes`` images of ``env``'s split and track its belief.

    Args:
        agent: a recurrent agent (:class:`~agents.explain.episodes.RecurrentAgent`, or a
            :class:`~agents.ram.agent.RAMAgent`), deterministic (mean locations).
        env: a glimpse env (``gym.make``), its vector env, or a :class:`GlimpseCore`. Make it
            with ``fixed_canvases=True`` on the test split for fixed test episodes.
        episodes: how many images, from the first (default: all of the split).
        seed: seeds the initial locations.
        batch_size: episodes played at once.
        progress: show a progress bar.

    Returns:
        numpy arrays, ``N`` episodes of ``T`` glimpses over ``n`` classes:
        ``log_belief`` ``(N, T, n)``, ``entropy`` ``(N, T+1)`` (``[:, 0] = log n``),
        ``information_gain`` ``(N, T)``, ``log_p_true`` ``(N, T)``, ``correct`` ``(N, T)`` bool,
        ``label`` ``(N,)``, ``index`` ``(N,)``, ``location`` ``(N, T, 2)``,
        ``glimpse`` ``(N, T, S*C, P, P)``, ``hidden`` ``(N, T, D)``, ``canvas`` ``(N, C, H, W)``
        uint8. ``mean_curves`` of it gives the per-glimpse means.
    """
    core = resolve_core(env)
    played = play_split(agent, core, episodes, seed, batch_size, progress)
    return episodes_as_arrays(played)
