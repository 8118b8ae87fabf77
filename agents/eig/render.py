"""EIG heat maps: where the agent expected to learn most, drawn beside the env's frames.

:func:`eig_panel` draws the image with every grid cell tinted by its expected information gain
(dark: little, bright yellow: the most), the visited cells greyed out and the square of the chosen
glimpse outlined. :func:`attach_eig_panel` makes a rendering env (``render_mode="rgb_array"`` or
``"human"``) draw that panel to the right of its own frame after every step of an
:class:`~agents.eig.agent.EIGAgent`; ``glimpse-env gif --policy CKPT`` does this for EIG
checkpoints. Drawing uses :mod:`glimpse_env.pictures.raster` and the env renderer's layout and
colours.

>>> canvas = np.zeros((1, 28, 28), np.uint8)
>>> grid = np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]], np.float32)
>>> panel = eig_panel(canvas, np.array([[0.1, 0.9], [0.0, 0.2]]), grid, patch_size=8,
...                   stride=14, zoom=4, visited=np.array([False, False, True, False]), chosen=1)
>>> panel.shape
(138, 112, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glimpse_env.pictures.raster import (
    Rect,
    blit,
    draw_outline,
    draw_text,
    fill_rect,
    text_size,
    upscale,
)
from glimpse_env.pictures.render import BACKGROUND, MARGIN, PANEL, TEXT, TEXT_SCALE

__all__ = ["EIGPanel", "attach_eig_panel", "eig_panel", "heat_colors", "with_panel"]

HEAT_STOPS = np.array([0.0, 0.3, 0.6, 0.85, 1.0])
HEAT_COLORS = np.array(
    [[20, 20, 60], [110, 20, 150], [220, 50, 60], [255, 170, 0], [255, 250, 190]], np.float64
)
VISITED: tuple[int, int, int] = (70, 70, 80)
CHOSEN: tuple[int, int, int] = (0, 230, 255)
TINT = 0.65
BAND_HEIGHT = 7 * TEXT_SCALE + 12


def heat_colors(values: np.ndarray) -> np.ndarray:
    """Colours of values in [0, 1]: ``(...)`` -> ``(..., 3)`` uint8 (dark blue to pale yellow)."""
    values = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    channels = [np.interp(values, HEAT_STOPS, HEAT_COLORS[:, c]) for c in range(3)]
    return np.rint(np.stack(channels, -1)).astype(np.uint8)


def eig_panel(
    canvas: np.ndarray,
    eig_map: np.ndarray | None,
    grid: np.ndarray,
    patch_size: int,
    stride: int,
    zoom: int,
    visited: np.ndarray | None = None,
    chosen: int | None = None,
) -> np.ndarray:
    """The image with the EIG of every grid cell as a heat map.

    Args:
        canvas: ``(C, H, W)`` uint8, the image (C = 1 or 3).
        eig_map: ``(G, G)`` or ``(L,)`` EIG per cell (None: the plain image, "no map yet").
        grid: ``(L, 2)`` the cells' locations ``(x, y)`` in [-1, 1].
        patch_size: ``P``, the side of a glimpse (the chosen one is outlined).
        stride: pixels between cells (each cell's tint covers ``stride x stride`` pixels).
        zoom: image pixels are drawn as ``zoom x zoom`` blocks.
        visited: ``(L,)`` bool, cells already seen (greyed; the colour scale ignores them).
        chosen: the chosen cell, outlined.

    Returns:
        ``(BAND_HEIGHT + H*zoom, W*zoom, 3)`` uint8: a caption band, then the image.
    """
    channels, height, width = canvas.shape
    rgb = canvas.transpose(1, 2, 0) if channels == 3 else np.repeat(canvas[0][:, :, None], 3, 2)
    image = upscale(rgb, zoom).astype(np.float64)
    panel = np.empty((BAND_HEIGHT + height * zoom, width * zoom, 3), np.uint8)
    panel[:] = BACKGROUND
    caption = "EIG: NONE YET"
    if eig_map is not None:
        values = np.asarray(eig_map, np.float64).reshape(-1)
        seen = np.zeros(len(values), bool) if visited is None else np.asarray(visited, bool)
        top = float(values[~seen].max()) if (~seen).any() else float(values.max())
        colors = heat_colors(values / max(top, 1e-12))
        centres = (np.asarray(grid, np.float64) + 1.0) / 2.0 * np.array([width, height])
        for cell, (x, y) in enumerate(centres):
            rows = slice(max(round((y - stride / 2) * zoom), 0), round((y + stride / 2) * zoom))
            cols = slice(max(round((x - stride / 2) * zoom), 0), round((x + stride / 2) * zoom))
            color = np.array(VISITED if seen[cell] else colors[cell], np.float64)
            image[rows, cols] = (1 - TINT) * image[rows, cols] + TINT * color
        caption = f"EIG MAX {top:.2f} NATS"
    blit(panel, np.rint(image).astype(np.uint8), BAND_HEIGHT, 0)
    if eig_map is not None and chosen is not None:
        x, y = (np.asarray(grid[chosen], np.float64) + 1.0) / 2.0 * np.array([width, height])
        square = Rect(
            BAND_HEIGHT + round((y - patch_size / 2) * zoom),
            round((x - patch_size / 2) * zoom),
            patch_size * zoom,
            patch_size * zoom,
        )
        draw_outline(
            panel, square, CHOSEN, 2, clip=Rect(BAND_HEIGHT, 0, height * zoom, width * zoom)
        )
    scale = TEXT_SCALE if text_size(caption, TEXT_SCALE)[1] <= width * zoom else 1
    draw_text(panel, caption, 4, 0, TEXT, scale)
    return panel


def with_panel(frame: np.ndarray, panel: np.ndarray, layout: Any) -> np.ndarray:
    """``frame`` widened to the right with ``panel``, its image aligned with the frame's image.

    Args:
        frame: ``(H, W, 3)`` a frame of :func:`glimpse_env.pictures.render.draw_frame`.
        panel: ``(h, w, 3)`` from :func:`eig_panel`.
        layout: the frame's :class:`glimpse_env.pictures.render.Layout` (bands and image position).
    """
    top = layout.image.top - BAND_HEIGHT
    height = max(frame.shape[0], top + panel.shape[0])
    out = np.empty((height, frame.shape[1] + panel.shape[1] + MARGIN, 3), np.uint8)
    out[:] = BACKGROUND
    blit(out, frame, 0, 0)
    extra = Rect(0, frame.shape[1], height, panel.shape[1] + MARGIN)
    for band in (layout.title, layout.status):
        fill_rect(out, Rect(band.top, extra.left, band.height, extra.width), PANEL)
    blit(out, panel, top, frame.shape[1])
    return out


class EIGPanel:
    """A renderer's ``frame`` drawing plus the EIG panel of the agent's last choice.

    The panel shows the map that chose the glimpse now on screen: none after a reset, the
    agent's latest map after each step, and the map of the last move once the episode is over.
    """

    def __init__(self, renderer: Any, agent: Any, draw: Any) -> None:
        self.renderer, self.agent, self.draw = renderer, agent, draw
        self.shown: tuple[np.ndarray, np.ndarray, int] | None = None
        config = agent.model.config
        self.grid = agent.grid
        self.patch_size, self.stride = config.patch_size, config.grid_stride

    def __call__(self) -> np.ndarray:
        frame = self.draw()
        trace = self.renderer.traces[0]
        layout = self.renderer.layout
        if trace is None or trace.steps == 0:
            self.shown = None
        elif not trace.done and self.agent.eig_map is not None:
            self.shown = (self.agent.eig_map, self.agent.visited, self.agent.chosen)
        canvas = (
            trace.canvas
            if trace is not None
            else np.zeros(self.renderer.spec.canvas_shape, np.uint8)
        )
        eig_map, visited, chosen = self.shown or (None, None, None)
        panel = eig_panel(
            canvas, eig_map, self.grid, self.patch_size, self.stride, layout.zoom, visited, chosen
        )
        return with_panel(frame, panel, layout)


def attach_eig_panel(env: Any, agent: Any) -> bool:
    """Make ``env``'s renderer draw ``agent``'s EIG map beside each frame.

    Works on a single env made with a ``render_mode``; returns False (and changes nothing) for
    an env that does not render or a vector env.
    """
    renderer = getattr(getattr(env, "unwrapped", env), "renderer", None)
    if renderer is None or getattr(renderer, "num_rows", 1) != 1:
        return False
    draw = renderer.frame
    if isinstance(draw, EIGPanel):
        draw = draw.draw
    renderer.frame = EIGPanel(renderer, agent, draw)
    return True
