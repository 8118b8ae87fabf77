"""Watch a policy play a glimpse env in a pygame window: ``glimpse-env play ID --policy P``.

The window shows each step's frame (the canvas with the glimpse's boxes, what the agent sees,
its belief), a header with the score so far, and holds each episode's last frame for a moment.
Esc, Q or closing the window stops. :func:`watch` is the loop; :func:`show_episode` plays one
episode's frames into a window and says whether to go on, so tests can drive both.

>>> import gymnasium as gym, glimpse_env, torch
>>> from glimpse_env.commands.policies import load_policy
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(10, 1, 28, 28, dtype=torch.uint8), torch.arange(10),
...                     classes=tuple("0123456789"))
>>> env = gym.make("GlimpseEnv-v0", dataset=data, render_mode="rgb_array")
>>> class Recorder:  # a window that keeps what it is shown
...     is_open, shown = True, []
...     def show(self, frame): self.shown.append(frame.shape)
...     def pump(self): return []
...     def wait(self, fps): pass
...     def close(self): pass
>>> score = watch(env, load_policy("center", env), seed=0, max_episodes=2, window=Recorder())
>>> score.played, len(Recorder.shown) > 2 * 6
(2, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from glimpse_env.commands.episodes import run_episode
from glimpse_env.commands.policies import Policy
from glimpse_env.pictures.raster import Rect, draw_text, fill_rect
from glimpse_env.pictures.render import BACKGROUND, DIM, PANEL, RIGHT, TEXT, WRONG
from glimpse_env.pictures.window import Window, is_quit

__all__ = ["HEADER", "Screen", "WatchScore", "show_episode", "watch"]

HEADER = 28
"""Height in pixels of the score band above the env's frame."""


class Screen(Protocol):
    """What :func:`watch` needs of a window (:class:`~glimpse_env.pictures.window.Window`)."""

    @property
    def is_open(self) -> bool: ...
    def show(self, frame: np.ndarray) -> None: ...
    def pump(self) -> list[Any]: ...
    def wait(self, fps: float) -> None: ...
    def close(self) -> None: ...


@dataclass
class WatchScore:
    """What was watched: episodes played to their end, and how many ended with a right guess."""

    played: int = 0
    right: int = 0


def _with_header(frame: np.ndarray, score: WatchScore, result: str | None) -> np.ndarray:
    """``frame`` ``(H, W, 3)`` under a band with the score and this episode's result."""
    band = np.empty((HEADER, frame.shape[1], 3), np.uint8)
    band[:] = BACKGROUND
    fill_rect(band, Rect(0, 0, HEADER, frame.shape[1]), PANEL)
    box = draw_text(band, f"SCORE {score.right}/{score.played}", 6, 12, TEXT, 2)
    if result is not None:
        draw_text(band, result, 6, box.right + 24, RIGHT if result == "RIGHT" else WRONG, 2)
    else:
        draw_text(band, "ESC: STOP", 6, box.right + 24, DIM, 2)
    return np.concatenate([band, frame], axis=0)


def show_episode(
    window: Screen,
    frames: list[np.ndarray],
    correct: bool,
    score: WatchScore,
    fps: float,
    end_pause: float,
) -> bool:
    """Show one episode's ``frames`` at ``fps``, then its last frame for ``end_pause`` seconds.

    ``score`` counts the episode when its last frame is shown. Returns False as soon as the
    user asks to stop (or the window is closed), else True.
    """
    for number, frame in enumerate(frames):
        last = number == len(frames) - 1
        if last:
            score.played += 1
            score.right += int(correct)
        window.show(_with_header(frame, score, ("RIGHT" if correct else "WRONG") if last else None))
        for _ in range(1 + (math.ceil(end_pause * fps) if last else 0)):
            if any(is_quit(event) for event in window.pump()) or not window.is_open:
                return False
            window.wait(fps)
    return True


def watch(
    env: gym.Env,
    policy: Policy,
    seed: int | None = None,
    max_episodes: int | None = None,
    fps: float = 4.0,
    end_pause: float = 1.0,
    window: Screen | None = None,
) -> WatchScore:
    """Let ``policy`` play ``env`` in a window until the user stops or ``max_episodes`` end.

    Args:
        env: a glimpse env made with ``render_mode="rgb_array"``.
        policy: anything with SB3's ``predict(obs, state, episode_start, deterministic)``
            (:func:`~glimpse_env.commands.policies.load_policy`).
        seed: seed of the first reset.
        max_episodes: stop after this many episodes (None: until the window is closed).
        fps: steps shown a second.
        end_pause: seconds each episode's last frame stays up.
        window: where to show it (default a new pygame window); closed on return.

    Returns:
        The :class:`WatchScore` of the episodes shown to their end.
    """
    if not fps > 0 or not end_pause >= 0:
        raise ValueError(f"fps must be > 0 and end_pause >= 0, got {fps} and {end_pause}")
    score = WatchScore()
    window = window or Window("glimpse-env play (watching)")
    try:
        while max_episodes is None or score.played < max_episodes:
            frames, info = run_episode(env, policy, seed if score.played == 0 else None)
            correct = bool(info.get("correct", False))
            if not show_episode(window, frames, correct, score, fps, end_pause):
                break
    finally:
        window.close()
    return score
