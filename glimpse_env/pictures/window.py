"""A pygame window that shows ``(H, W, 3)`` uint8 frames (``render_mode="human"``, play mode).

pygame is imported on first use only, so the rest of the package (and ``rgb_array`` rendering)
works without it. Under a headless machine or in tests set ``SDL_VIDEODRIVER=dummy`` before the
first window opens.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["Window", "import_pygame", "is_quit"]


def import_pygame() -> ModuleType:
    """Import pygame, or raise an ImportError that says how to install it."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as err:
        raise ImportError(
            'render_mode="human" and `glimpse-env play` need pygame: '
            "pip install 'glimpse-env[render]' (or pip install pygame)"
        ) from err
    return pygame


def is_quit(event: Any) -> bool:
    """True for a pygame event that means stop: closing the window, Esc or Q."""
    pygame = import_pygame()
    if event.type == pygame.QUIT:
        return True
    return event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)


class Window:
    """A window sized to the frames it is given; opens on the first :meth:`show`.

    Closing it by the window manager (a ``QUIT`` event seen by :meth:`pump`) or :meth:`close`
    releases the display; after that :attr:`is_open` is False and :meth:`show` does nothing.

    Args:
        title: the window caption.
    """

    def __init__(self, title: str = "glimpse-env") -> None:
        self.title = title
        self._pygame = import_pygame()
        self._screen: Any = None
        self._clock: Any = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        """False once the window was closed (by the user or :meth:`close`)."""
        return not self._closed

    @property
    def size(self) -> tuple[int, int] | None:
        """The window's ``(width, height)`` in pixels, None before the first frame."""
        return None if self._screen is None else tuple(self._screen.get_size())

    def show(self, frame: np.ndarray) -> None:
        """Draw ``frame`` ``(H, W, 3)`` uint8 in the window (resized to fit if it changed)."""
        if self._closed:
            return
        pygame = self._pygame
        height, width = frame.shape[:2]
        if self._screen is None or self._screen.get_size() != (width, height):
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode((width, height))
            self._clock = pygame.time.Clock()
        pixels = np.ascontiguousarray(frame, dtype=np.uint8)
        surface = pygame.image.frombuffer(pixels.tobytes(), (width, height), "RGB")
        self._screen.blit(surface, (0, 0))
        pygame.display.flip()

    def pump(self) -> list[Any]:
        """Take the pending events; a ``QUIT`` closes the window. Returns the events."""
        if self._closed or self._screen is None:
            return []
        events = self._pygame.event.get()
        if any(event.type == self._pygame.QUIT for event in events):
            self.close()
        return events

    def wait(self, fps: float) -> None:
        """Sleep so that successive calls run at most ``fps`` times a second."""
        if self._clock is not None and fps > 0:
            self._clock.tick(fps)

    def close(self) -> None:
        """Release the display (idempotent)."""
        if not self._closed and self._screen is not None:
            self._pygame.display.quit()
        self._screen = None
        self._closed = True
