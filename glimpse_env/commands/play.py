"""A person plays a glimpse environment in a pygame window (``glimpse-env play ID``).

Click on the image to look there next; press a digit key, or click a class's bar, to guess;
after the guess the true class and the score are shown; Space, Enter or a click starts the next
image; Esc, Q or closing the window quits.

The parts are small so that tests can drive them with posted pygame events:
:func:`event_command` says what one pygame event means (a :class:`Command`, or None);
:class:`PlaySession` applies commands to the environment and draws the picture, with no pygame;
:func:`play_once` is one turn of the loop (show, read events, apply) and :func:`play` loops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from glimpse_env.faces.env import GlimpseEnv
from glimpse_env.pictures.raster import Rect, draw_text, fill_rect, text_size
from glimpse_env.pictures.render import BACKGROUND, DIM, PANEL, RIGHT, TEXT, WRONG, Layout
from glimpse_env.pictures.window import Window, import_pygame, is_quit

__all__ = ["HEADER", "Command", "PlaySession", "event_command", "play", "play_once"]

HEADER = 52
"""Height in pixels of the band above the env's frame (score and help)."""
GUESS_LOGIT = 10.0
"""The logit a person's guess gets (the other classes get 0): a confident belief."""


@dataclass(frozen=True)
class Command:
    """What a person asked for.

    Attributes:
        kind: ``"look"`` (at ``location``), ``"guess"`` (class ``label``), ``"next"`` (image) or
            ``"quit"``.
        location: ``(x, y)`` in [-1, 1]^2 for ``"look"``.
        label: the class for ``"guess"``.
    """

    kind: Literal["look", "guess", "next", "quit"]
    location: tuple[float, float] | None = None
    label: int | None = None


def _digit(pygame: Any, key: int) -> int | None:
    """The digit of a number-row or keypad key (SDL2 keypad codes are not in digit order)."""
    for digit in range(10):
        if key in (getattr(pygame, f"K_{digit}"), getattr(pygame, f"K_KP{digit}")):
            return digit
    return None


def event_command(
    event: Any, layout: Layout, num_classes: int, done: bool, top: int = HEADER
) -> Command | None:
    """What one pygame event means in play mode.

    Args:
        event: a ``pygame.event.Event``.
        layout: the env frame's layout (to map clicks to locations and classes).
        num_classes: ``n``; digit keys ``>= n`` mean nothing.
        done: the episode has ended (then a click or Space/Enter/N means the next image).
        top: rows of the play frame above the env frame.

    Returns:
        The :class:`Command`, or None for an event that means nothing.
    """
    pygame = import_pygame()
    if is_quit(event):
        return Command("quit")
    if event.type == pygame.KEYDOWN:
        if event.key in (pygame.K_SPACE, pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_n):
            return Command("next") if done else None
        digit = _digit(pygame, event.key)
        if digit is not None and digit < num_classes and not done:
            return Command("guess", label=digit)
        return None
    if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
        if done:
            return Command("next")
        col, row = event.pos
        label = layout.class_at(row - top, col)
        if label is not None:
            return Command("guess", label=label)
        location = layout.location_at(row - top, col)
        if location is not None:
            return Command("look", location=location)
    return None


class PlaySession:
    """The game: an env, the score, and what the person asked for so far (no pygame here).

    Args:
        env: a glimpse env made with ``render_mode="rgb_array"`` (wrappers allowed).
        seed: seed of the first reset.
        max_episodes: after this many episodes, "next" quits (None: play on).
    """

    def __init__(
        self, env: gym.Env, seed: int | None = None, max_episodes: int | None = None
    ) -> None:
        base = env.unwrapped
        if not isinstance(base, GlimpseEnv) or base.render_mode != "rgb_array":
            raise ValueError(
                "play needs a GlimpseEnv made with render_mode='rgb_array' (it draws its own "
                f"window), got {base!r} with render_mode={base.render_mode!r}"
            )
        self.env = env
        self.base = base
        self.max_episodes = max_episodes
        self.right = 0
        self.played = 0
        self.done = False
        self.running = True
        self.message = ""
        self._frame: np.ndarray | None = None
        env.reset(seed=seed)

    @property
    def layout(self) -> Layout:
        assert self.base.renderer is not None
        return self.base.renderer.layout

    @property
    def num_classes(self) -> int:
        return self.base.core.num_classes

    @property
    def glimpses_left(self) -> int:
        """Glimpses still to be taken in this episode."""
        assert self.base.state is not None
        return self.base.config.num_glimpses - int(self.base.state.t[0])

    def apply(self, command: Command | None) -> None:
        """Carry out a command (None does nothing)."""
        if command is None:
            return
        self._frame = None
        if command.kind == "quit":
            self.running = False
        elif command.kind == "next" and self.done:
            self._next()
        elif command.kind == "look" and not self.done and command.location is not None:
            self._look(command.location)
        elif command.kind == "guess" and not self.done and command.label is not None:
            self._guess(command.label)

    def _action(self, location: np.ndarray, logits: np.ndarray, stop: int) -> dict[str, Any]:
        action: dict[str, Any] = {"location": location.astype(np.float32), "logits": logits}
        if self.base.config.early_stop:
            action["stop"] = stop
        return action

    def _look(self, location: tuple[float, float]) -> None:
        if self.glimpses_left <= 0:
            self.message = "NO GLIMPSES LEFT: GUESS"
            return
        logits = np.zeros(self.num_classes, np.float32)
        self.env.step(self._action(np.asarray(location), logits, stop=0))
        self.message = ""

    def _guess(self, label: int) -> None:
        logits = np.zeros(self.num_classes, np.float32)
        logits[label] = GUESS_LOGIT
        assert self.base.state is not None
        here = self.base.state.location[0].cpu().numpy()
        terminated = truncated = False
        info: dict[str, Any] = {}
        while not (terminated or truncated):  # without early stop: look here until the end
            _, _, terminated, truncated, info = self.env.step(self._action(here, logits, stop=1))
        self.done = True
        self.played += 1
        self.right += bool(info.get("correct", False))
        self.message = "RIGHT!" if info.get("correct") else "WRONG"

    def _next(self) -> None:
        if self.max_episodes is not None and self.played >= self.max_episodes:
            self.running = False
            return
        self.env.reset()
        self.done = False
        self.message = ""

    def _header(self, width: int) -> np.ndarray:
        band = np.empty((HEADER, width, 3), np.uint8)
        band[:] = BACKGROUND
        fill_rect(band, Rect(0, 0, HEADER, width), PANEL)
        score = f"SCORE {self.right}/{self.played}"
        box = draw_text(band, score, 6, 12, TEXT, 2)
        status = self.message or f"{self.glimpses_left} GLIMPSES LEFT"
        color = {"RIGHT!": RIGHT, "WRONG": WRONG}.get(self.message, DIM)
        draw_text(band, status, 6, box.right + 24, color, 2)
        if self.done:
            help_text = "SPACE OR CLICK: NEXT IMAGE   ESC: QUIT"
        else:
            help_text = "CLICK: LOOK THERE   DIGIT OR BAR: GUESS   ESC: QUIT"
        draw_text(
            band, help_text, 30, 12, DIM, 2 if text_size(help_text, 2)[1] <= width - 24 else 1
        )
        return band

    def frame(self) -> np.ndarray:
        """The play picture: the score band (:data:`HEADER` rows) above the env's frame."""
        if self._frame is None:
            frame = self.env.render()
            assert isinstance(frame, np.ndarray)
            self._frame = np.concatenate([self._header(frame.shape[1]), frame], axis=0)
        return self._frame


def play_once(session: PlaySession, window: Window) -> None:
    """One turn of the loop: show the picture, then apply every pending event."""
    window.show(session.frame())
    for event in window.pump():
        session.apply(event_command(event, session.layout, session.num_classes, session.done))
    if not window.is_open:
        session.running = False


def play(
    env: gym.Env,
    seed: int | None = None,
    max_episodes: int | None = None,
    fps: float = 30.0,
    window: Window | None = None,
) -> PlaySession:
    """Let a person play ``env`` until they quit; returns the session (its score).

    Args:
        env: a glimpse env made with ``render_mode="rgb_array"``.
        seed: seed of the first reset.
        max_episodes: stop after this many episodes (None: until the window is closed).
        fps: how often the window is redrawn and events read.
        window: the window to use (default a new one); closed on return.
    """
    session = PlaySession(env, seed, max_episodes)
    window = window or Window("glimpse-env play")
    try:
        while session.running:
            play_once(session, window)
            window.wait(fps)
    finally:
        window.close()
    return session
