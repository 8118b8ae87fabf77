"""Pictures of what the agent saw: the reconstruction grid, per-episode GIF frames, curve plots.

Frames are ``(H, W, 3)`` uint8 numpy arrays drawn with :mod:`glimpse_env.pictures.raster` (no
matplotlib);
glimpse squares are placed with :func:`glimpse_env.core.sensor.square_starts`, the sensor's
rounding.
Plots use matplotlib's Agg backend. Every file is written atomically (temp file, ``os.replace``).

Grid layout (:func:`grid_size`): a header band of column titles, then one row per example; the
first column is the image with the fovea (smallest square) of each glimpse, column ``t`` the
reconstruction after glimpse ``t`` with glimpses ``1..t`` drawn (the latest bright with all its
scales, the earlier ones' foveae dim).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from glimpse_env.core.sensor import square_starts
from glimpse_env.pictures.raster import (
    GLYPH_HEIGHT,
    Color,
    Rect,
    blit,
    draw_outline,
    draw_text,
    upscale,
)

__all__ = [
    "HEADER",
    "episode_frames",
    "explanation_grid",
    "grid_size",
    "plot_curves",
    "write_png",
]

GAP = 4
"""Pixels between cells and around the grid."""
HEADER = GLYPH_HEIGHT + 2 * GAP
"""Height of the band of column titles (text at scale 1)."""
BACKGROUND: Color = (24, 24, 28)
CURRENT: Color = (255, 200, 40)
EARLIER: Color = (90, 150, 230)
TEXT: Color = (230, 230, 230)


def grid_size(
    examples: int, glimpses: int, image_size: tuple[int, int], zoom: int
) -> tuple[int, int]:
    """``(height, width)`` in pixels of :func:`explanation_grid`'s image.

    ``height = HEADER + examples * (H*zoom + GAP) + GAP`` and
    ``width = (1 + glimpses) * (W*zoom + GAP) + GAP``.
    """
    height, width = image_size
    return (
        HEADER + examples * (height * zoom + GAP) + GAP,
        (1 + glimpses) * (width * zoom + GAP) + GAP,
    )


def _rgb(planes: np.ndarray) -> np.ndarray:
    """``(C, h, w)`` in [0, 1] or uint8 (C = 1 or 3) -> ``(h, w, 3)`` uint8."""
    planes = np.asarray(planes)
    if planes.dtype != np.uint8:
        planes = np.clip(np.rint(planes * 255.0), 0, 255).astype(np.uint8)
    if planes.shape[0] == 1:
        planes = np.repeat(planes, 3, axis=0)
    return np.ascontiguousarray(planes[:3].transpose(1, 2, 0))


def _draw_squares(
    frame: np.ndarray,
    cell: Rect,
    locations: np.ndarray,
    image_size: tuple[int, int],
    sides: Sequence[int],
    zoom: int,
    current: bool = True,
) -> None:
    """Outline the glimpses at ``locations`` ``(k, 2)`` on a cell showing the image at ``zoom``.

    Every glimpse's smallest square (the fovea) is drawn, the earlier ones in ``EARLIER``; the
    last glimpse is drawn with all its scales in ``CURRENT`` (when ``current``), so multi-scale
    glimpses do not bury the picture in squares.
    """
    if len(locations) == 0:
        return
    side = torch.tensor(list(sides))
    rows, cols = square_starts(torch.as_tensor(np.asarray(locations)), image_size, side)
    last = len(locations) - 1
    for i in range(len(locations)):
        highlight = current and i == last
        for s in range(len(sides) if highlight else 1):
            rect = Rect(
                cell.top + int(rows[i, s]) * zoom,
                cell.left + int(cols[i, s]) * zoom,
                sides[s] * zoom,
                sides[s] * zoom,
            )
            draw_outline(frame, rect, CURRENT if highlight else EARLIER, 1, clip=cell)


def _cell(frame: np.ndarray, top: int, left: int, planes: np.ndarray, zoom: int) -> Rect:
    image = upscale(_rgb(planes), zoom)
    blit(frame, image, top, left)
    return Rect(top, left, image.shape[0], image.shape[1])


def explanation_grid(
    canvas: np.ndarray,
    recon: np.ndarray,
    locations: np.ndarray,
    sides: Sequence[int],
    zoom: int = 3,
) -> np.ndarray:
    """The grid of reconstructions after each glimpse.

    Args:
        canvas: ``(N, C, H, W)`` uint8, the images.
        recon: ``(N, T, C, H, W)`` float in ``[0, 1]``, the reconstruction after each glimpse.
        locations: ``(N, T, 2)`` where each glimpse was taken.
        sides: the square sides in pixels (:func:`agents.explain.footprint.glimpse_sides`).
        zoom: integer enlargement of every image.

    Returns:
        ``(height, width, 3)`` uint8, sized as :func:`grid_size` says.
    """
    canvas, recon, locations = np.asarray(canvas), np.asarray(recon), np.asarray(locations)
    examples, glimpses = recon.shape[:2]
    size = tuple(canvas.shape[2:])
    frame = np.full((*grid_size(examples, glimpses, size, zoom), 3), BACKGROUND, np.uint8)
    step_w, step_h = size[1] * zoom + GAP, size[0] * zoom + GAP
    for column, title in enumerate(["image"] + [f"t={t}" for t in range(1, glimpses + 1)]):
        draw_text(frame, title, GAP, GAP + column * step_w, TEXT)
    for row in range(examples):
        top = HEADER + row * step_h
        cell = _cell(frame, top, GAP, canvas[row], zoom)
        _draw_squares(frame, cell, locations[row], size, sides, zoom, current=False)
        for t in range(glimpses):
            cell = _cell(frame, top, GAP + (t + 1) * step_w, recon[row, t], zoom)
            _draw_squares(frame, cell, locations[row, : t + 1], size, sides, zoom)
    return frame


DIM_UNSEEN = 0.3
"""Brightness of the pixels not yet seen in the "seen" panel of the episode frames."""


def episode_frames(
    canvas: np.ndarray,
    recon: np.ndarray,
    locations: np.ndarray,
    sides: Sequence[int],
    log_beliefs: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    label: int | None = None,
    seen: np.ndarray | None = None,
    zoom: int = 4,
) -> list[np.ndarray]:
    """One frame per glimpse of an episode: the image with the glimpses so far, beside the
    reconstruction after that glimpse, with the guess and its probability underneath.

    Args:
        canvas: ``(C, H, W)`` uint8; recon: ``(T, C, H, W)`` in ``[0, 1]``; locations: ``(T, 2)``.
        sides: the glimpse's square sides in pixels.
        log_beliefs: ``(T, n)`` the belief after each glimpse (optional caption).
        classes: class names (default: the class indices).
        label: the true class (added to the caption).
        seen: ``(T, H, W)`` bool, the pixels seen by glimpse ``t``
            (:func:`~agents.explain.footprint.footprint_masks`): the others are dimmed.
        zoom: integer enlargement.

    Returns:
        ``T`` frames, each ``(HEADER + H*zoom + 2*GAP + HEADER, 2*(W*zoom + GAP) + GAP, 3)``.
    """
    size = tuple(canvas.shape[1:])
    height = HEADER + size[0] * zoom + 2 * GAP + HEADER
    width = 2 * (size[1] * zoom + GAP) + GAP

    def name(k: int) -> str:
        return classes[k] if classes is not None else str(k)

    frames = []
    for t in range(len(recon)):
        frame = np.full((height, width, 3), BACKGROUND, np.uint8)
        draw_text(frame, "seen", GAP, GAP, TEXT)
        draw_text(frame, f"imagined after t={t + 1}", GAP, 2 * GAP + size[1] * zoom, TEXT)
        image = canvas if seen is None else np.where(seen[t], canvas, canvas * DIM_UNSEEN)
        left = _cell(frame, HEADER, GAP, image.astype(np.uint8), zoom)
        _draw_squares(frame, left, locations[: t + 1], size, sides, zoom)
        right = _cell(frame, HEADER, 2 * GAP + size[1] * zoom, recon[t], zoom)
        _draw_squares(frame, right, locations[: t + 1], size, sides, zoom)
        words = []
        if log_beliefs is not None:
            guess = int(np.argmax(log_beliefs[t]))
            words.append(f"guess {name(guess)} p={np.exp(log_beliefs[t][guess]):.2f}")
        if label is not None:
            words.append(f"true {name(label)}")
        draw_text(frame, ", ".join(words), HEADER + size[0] * zoom + 2 * GAP, GAP, TEXT)
        frames.append(frame)
    return frames


def _temp_path(path: Path) -> Path:
    """A new file beside ``path`` with the mode a new file gets (mkstemp's is 0o600)."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)
    return Path(temp)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` uint8 image as PNG, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(path)
    try:
        iio.imwrite(temp, np.asarray(image, dtype=np.uint8), extension=".png")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def plot_curves(
    path: str | Path,
    series: dict[str, tuple[np.ndarray, np.ndarray | None]],
    ylabel: str,
    title: str,
    start: int = 1,
) -> Path:
    """A line plot of per-glimpse curves against the glimpse index, with shaded spreads.

    Args:
        path: the PNG to write.
        series: label -> ``(mean (K,), spread (K,) or None)``; the band is ``mean +- spread``.
        ylabel: the axis label.
        title: the title.
        start: glimpse index of the first point (0 for curves that start with ``H_0``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    for label, (mean, spread) in series.items():
        x = np.arange(start, start + len(mean))
        ax.plot(x, mean, marker="o", markersize=3, label=label)
        if spread is not None:
            ax.fill_between(x, mean - spread, mean + spread, alpha=0.2)
    ax.set_xlabel("glimpse t")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    temp = _temp_path(path)
    try:
        fig.savefig(temp, format="png")
        os.replace(temp, path)
    finally:
        plt.close(fig)
        temp.unlink(missing_ok=True)
    return path
