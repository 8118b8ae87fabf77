"""Drawing on ``(H, W, 3)`` uint8 numpy frames: rectangles, lines, image blits and bitmap text.

Numpy only, so ``render_mode="rgb_array"`` needs neither pygame nor PIL. Every function draws in
place and clips to the frame (or to a ``clip`` rectangle), so shapes may hang over an edge.
Coordinates are pixels, ``(row, col)``, the top-left pixel ``(0, 0)``.

Text uses a built-in 5x7 bitmap font (upper case, digits and common punctuation; lower case is
drawn as upper case, unknown characters as ``?``), scaled by an integer factor: every glyph cell
is ``6*scale`` wide (one column of spacing) and ``7*scale`` tall.

>>> frame = np.zeros((20, 40, 3), np.uint8)
>>> text_size("Hi", scale=2)
(14, 22)
>>> _ = draw_text(frame, "Hi", 2, 2, (255, 255, 255), scale=2)
>>> int(frame[..., 0].astype(bool).sum()) > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "GLYPH_HEIGHT",
    "GLYPH_WIDTH",
    "Color",
    "Rect",
    "blit",
    "draw_line",
    "draw_outline",
    "draw_text",
    "fill_rect",
    "text_size",
    "upscale",
]

Color = tuple[int, int, int]
GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7


@dataclass(frozen=True)
class Rect:
    """A rectangle of pixels: rows ``top..top+height-1``, columns ``left..left+width-1``."""

    top: int
    left: int
    height: int
    width: int

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.top + self.height

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.left + self.width

    def contains(self, row: float, col: float) -> bool:
        return self.top <= row < self.bottom and self.left <= col < self.right


# 5x7 glyphs, one int per row, bit 4 the leftmost column (the HD44780 character set).
_GLYPH_ROWS: dict[str, tuple[int, ...]] = {
    " ": (0, 0, 0, 0, 0, 0, 0),
    "0": (0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E),
    "1": (0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "2": (0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F),
    "3": (0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E),
    "4": (0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02),
    "5": (0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E),
    "6": (0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E),
    "7": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08),
    "8": (0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E),
    "9": (0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C),
    "A": (0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11),
    "B": (0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E),
    "C": (0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E),
    "D": (0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C),
    "E": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F),
    "F": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10),
    "G": (0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F),
    "H": (0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
    "I": (0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "J": (0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C),
    "K": (0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11),
    "L": (0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F),
    "M": (0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11),
    "N": (0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11),
    "O": (0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E),
    "P": (0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10),
    "Q": (0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D),
    "R": (0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11),
    "S": (0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E),
    "T": (0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
    "U": (0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E),
    "V": (0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04),
    "W": (0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A),
    "X": (0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11),
    "Y": (0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04),
    "Z": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F),
    "-": (0, 0, 0, 0x1F, 0, 0, 0),
    "_": (0, 0, 0, 0, 0, 0, 0x1F),
    ".": (0, 0, 0, 0, 0, 0x0C, 0x0C),
    ",": (0, 0, 0, 0, 0x0C, 0x04, 0x08),
    ":": (0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0),
    "/": (0, 0x01, 0x02, 0x04, 0x08, 0x10, 0),
    "%": (0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03),
    "(": (0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02),
    ")": (0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08),
    "[": (0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E),
    "]": (0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E),
    "=": (0, 0, 0x1F, 0, 0x1F, 0, 0),
    "+": (0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0),
    "*": (0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0),
    "<": (0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02),
    ">": (0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08),
    "?": (0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04),
    "!": (0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04),
    "#": (0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A),
    "'": (0x0C, 0x04, 0x08, 0, 0, 0, 0),
}

_COLUMN_BITS = 1 << np.arange(GLYPH_WIDTH - 1, -1, -1)  # (5,) leftmost column first
_GLYPHS: dict[str, np.ndarray] = {
    char: (np.array(rows)[:, None] & _COLUMN_BITS).astype(bool)  # (7, 5)
    for char, rows in _GLYPH_ROWS.items()
}


def _clip(frame: np.ndarray, rect: Rect, clip: Rect | None) -> tuple[slice, slice] | None:
    """The part of ``rect`` inside the frame (and inside ``clip``) as slices, or None if empty."""
    top, left, bottom, right = rect.top, rect.left, rect.bottom, rect.right
    bounds = Rect(0, 0, frame.shape[0], frame.shape[1]) if clip is None else clip
    top, left = max(top, bounds.top, 0), max(left, bounds.left, 0)
    bottom = min(bottom, bounds.bottom, frame.shape[0])
    right = min(right, bounds.right, frame.shape[1])
    if top >= bottom or left >= right:
        return None
    return slice(top, bottom), slice(left, right)


def fill_rect(frame: np.ndarray, rect: Rect, color: Color, clip: Rect | None = None) -> None:
    """Paint ``rect`` with ``color``."""
    parts = _clip(frame, rect, clip)
    if parts is not None:
        frame[parts] = color


def draw_outline(
    frame: np.ndarray, rect: Rect, color: Color, thickness: int = 1, clip: Rect | None = None
) -> None:
    """Paint the border of ``rect``, ``thickness`` pixels wide, inside the rectangle."""
    t = thickness
    for side in (
        Rect(rect.top, rect.left, t, rect.width),
        Rect(rect.bottom - t, rect.left, t, rect.width),
        Rect(rect.top, rect.left, rect.height, t),
        Rect(rect.top, rect.right - t, rect.height, t),
    ):
        fill_rect(frame, side, color, clip)


def draw_line(
    frame: np.ndarray,
    start: tuple[float, float],
    end: tuple[float, float],
    color: Color,
    thickness: int = 1,
    clip: Rect | None = None,
) -> None:
    """Paint a straight line between two ``(row, col)`` points, ``thickness`` pixels wide."""
    (r0, c0), (r1, c1) = start, end
    count = int(max(abs(r1 - r0), abs(c1 - c0))) + 1
    rows = np.rint(np.linspace(r0, r1, count)).astype(np.int64)
    cols = np.rint(np.linspace(c0, c1, count)).astype(np.int64)
    bounds = Rect(0, 0, frame.shape[0], frame.shape[1]) if clip is None else clip
    low = -(thickness // 2)
    for dr in range(low, low + thickness):
        for dc in range(low, low + thickness):
            r, c = rows + dr, cols + dc
            keep = (
                (r >= max(bounds.top, 0))
                & (r < min(bounds.bottom, frame.shape[0]))
                & (c >= max(bounds.left, 0))
                & (c < min(bounds.right, frame.shape[1]))
            )
            frame[r[keep], c[keep]] = color


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of ``(h, w, ...)`` to ``(h*factor, w*factor, ...)``."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def blit(frame: np.ndarray, image: np.ndarray, top: int, left: int) -> None:
    """Copy an ``(h, w, 3)`` uint8 image into the frame, its top-left pixel at ``(top, left)``."""
    parts = _clip(frame, Rect(top, left, image.shape[0], image.shape[1]), None)
    if parts is not None:
        rows, cols = parts
        frame[parts] = image[
            rows.start - top : rows.stop - top, cols.start - left : cols.stop - left
        ]


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """``(height, width)`` in pixels of ``text`` drawn at ``scale`` (no trailing spacing)."""
    if not text:
        return (GLYPH_HEIGHT * scale, 0)
    return (GLYPH_HEIGHT * scale, (len(text) * (GLYPH_WIDTH + 1) - 1) * scale)


def _text_mask(text: str, scale: int) -> np.ndarray:
    """``(7*scale, width)`` bool mask of the text's lit pixels."""
    gap = np.zeros((GLYPH_HEIGHT, 1), bool)
    cells = []
    for char in text.upper():
        cells += [_GLYPHS.get(char, _GLYPHS["?"]), gap]
    mask = np.concatenate(cells[:-1], axis=1)  # (7, 6*len - 1)
    return upscale(mask, scale)


def draw_text(
    frame: np.ndarray,
    text: str,
    top: int,
    left: int,
    color: Color,
    scale: int = 1,
    background: Color | None = None,
    pad: int = 0,
) -> Rect:
    """Write ``text`` with its top-left corner at ``(top, left)``.

    Args:
        frame: ``(H, W, 3)`` uint8, drawn on in place.
        text: the string (lower case drawn as upper case; unknown characters as ``?``).
        top: pixel row of the first glyph's top-left corner.
        left: its pixel column.
        color: RGB of the glyphs.
        scale: integer enlargement of the 5x7 font.
        background: if given, a box of this colour is painted behind the text first.
        pad: pixels of background around the text.

    Returns:
        The rectangle the text (and its background) covers.
    """
    height, width = text_size(text, scale)
    box = Rect(top - pad, left - pad, height + 2 * pad, width + 2 * pad)
    if background is not None:
        fill_rect(frame, box, background)
    if not text:
        return box
    mask = _text_mask(text, scale)
    parts = _clip(frame, Rect(top, left, height, width), None)
    if parts is not None:
        rows, cols = parts
        sub = mask[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
        frame[parts][sub] = color
    return box
