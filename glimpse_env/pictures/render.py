"""Frames of glimpse episodes: what the image, the glimpse, the path and the belief look like.

:func:`draw_frame` turns an :class:`EpisodeTrace` into an ``(H, W, 3)`` uint8 picture with numpy
only (:mod:`glimpse_env.pictures.raster`), so ``render_mode="rgb_array"`` needs no pygame:

- left, the image (or canvas) enlarged by an integer ``zoom``, with the square of every scale at
  the current location (scale ``s`` in ``SCALE_COLORS[s]``), computed by
  :func:`glimpse_env.core.sensor.square_starts` so the drawing matches the sensor pixel for pixel;
  earlier locations as numbered markers joined by the path, the current one highlighted;
- middle, the glimpse as the agent receives it, one enlarged ``P x P`` patch per scale (for a
  colour set, channels ``s*C .. s*C + C-1`` make scale ``s``'s RGB patch);
- right, the current class belief as bars; when the episode has ended, the true class is marked
  and the guess coloured right (green) or wrong (red);
- a title band (dataset, glimpse ``t/T``, step) and a status band (top class, or the outcome).

The layout (:class:`Layout`, from :func:`make_layout`) depends only on the environment's
geometry, so every frame of an environment has the same size (a GIF needs that) and clicks can
be mapped back to locations and classes (``glimpse-env play``). The image is enlarged to about
:data:`IMAGE_SIDE` pixels, so a 28x28 digit and a 100x100 canvas are both readable.

:class:`EpisodeRenderer` is what the environments hold when ``render_mode`` is set: it keeps
traces of the first rows of a batch of episodes and draws them (tiled for the vector env); with
``render_mode=None`` the environments hold none and keep no history.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from glimpse_env.core.batched import EpisodeState, GlimpseCore, StepResult
from glimpse_env.core.sensor import square_starts
from glimpse_env.pictures.raster import (
    Color,
    Rect,
    blit,
    draw_line,
    draw_outline,
    draw_text,
    fill_rect,
    text_size,
    upscale,
)

__all__ = [
    "IMAGE_SIDE",
    "SCALE_COLORS",
    "EpisodeRenderer",
    "EpisodeTrace",
    "FrameSpec",
    "Layout",
    "draw_frame",
    "make_layout",
    "square_rects",
    "tile_frames",
]

IMAGE_SIDE = 360
"""The image panel is enlarged by the largest integer zoom that keeps it within this many pixels."""
SCALE_COLORS: tuple[Color, ...] = (
    (255, 70, 70),
    (255, 190, 0),
    (0, 200, 255),
    (200, 110, 255),
    (90, 230, 90),
    (255, 255, 255),
)
"""Colour of scale ``s``'s square and patch border (cycled past six scales)."""

BACKGROUND: Color = (24, 24, 30)
PANEL: Color = (52, 52, 62)
TEXT: Color = (235, 235, 235)
DIM: Color = (140, 140, 155)
BAR: Color = (80, 120, 220)
BAR_TOP: Color = (150, 190, 255)
RIGHT: Color = (70, 205, 95)
WRONG: Color = (240, 70, 70)
PATH: Color = (250, 235, 140)
DARK: Color = (0, 0, 0)

MARGIN = 12
GAP = 8
TEXT_SCALE = 2
BAND = 7 * TEXT_SCALE + 10
LABEL_CHARS = 10
BAR_WIDTH = 160
MAX_PATCH_ZOOM = 12


def scale_color(scale: int) -> Color:
    return SCALE_COLORS[scale % len(SCALE_COLORS)]


# ----------------------------------------------------------------------------- what is drawn


@dataclass(frozen=True)
class FrameSpec:
    """The geometry a frame depends on (fixed for an environment's life).

    Attributes:
        canvas_shape: ``(C, H, W)`` of the image the agent looks at.
        patch_size: ``P`` (see :mod:`glimpse_env.core.sensor`).
        num_scales: ``S``.
        scale_factor: ``k``.
        classes: class names, index = label.
        num_glimpses: ``T``.
        title: shown in the title band (the dataset and split).
    """

    canvas_shape: tuple[int, int, int]
    patch_size: int
    num_scales: int
    scale_factor: int
    classes: tuple[str, ...]
    num_glimpses: int
    title: str = ""

    @classmethod
    def from_core(cls, core: GlimpseCore) -> FrameSpec:
        c = core.config
        return cls(
            canvas_shape=core.canvas_shape,
            patch_size=c.patch_size,
            num_scales=c.num_scales,
            scale_factor=c.scale_factor,
            classes=tuple(core.classes),
            num_glimpses=c.num_glimpses,
            title=core.dataset_name,
        )

    def side(self, scale: int) -> int:
        """Side in image pixels of scale ``scale``'s square: ``P * k**scale``."""
        return self.patch_size * self.scale_factor**scale


@dataclass
class EpisodeTrace:
    """What a frame shows about one episode (numpy copies; kept only while rendering).

    Attributes:
        canvas: ``(C, H, W)`` uint8, the image looked at.
        label: the true class.
        locations: ``(x, y)`` of every glimpse seen so far, each ``(2,)`` float32; the last is the
            current glimpse's.
        glimpse: ``(S*C, P, P)`` float32, the current glimpse.
        belief: ``(n,)`` float32 probabilities, the belief sent at the last step (uniform at
            reset).
        steps: steps taken.
        done: the episode has ended (its last belief is the guess).
        episode_return: the sum of the rewards so far.
    """

    canvas: np.ndarray
    label: int
    locations: list[np.ndarray]
    glimpse: np.ndarray
    belief: np.ndarray
    steps: int = 0
    done: bool = False
    episode_return: float = 0.0

    @property
    def guess(self) -> int:
        """The argmax of the belief."""
        return int(np.argmax(self.belief))

    @property
    def correct(self) -> bool:
        return self.guess == self.label

    @property
    def uniform(self) -> bool:
        """The belief is uniform (no class is preferred; the guess would be class 0)."""
        return float(np.ptp(self.belief)) < 1e-6


# ----------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Where everything goes in a frame of a given :class:`FrameSpec`.

    Attributes:
        height, width: the frame's size in pixels.
        zoom: image pixels are drawn as ``zoom x zoom`` blocks.
        image: the enlarged image's rectangle.
        patches: one rectangle per scale, the enlarged glimpse patch.
        patch_zoom: glimpse pixels are drawn as ``patch_zoom x patch_zoom`` blocks.
        bars: one rectangle per class: the clickable row of its label and bar.
        title, status: the bands at the top and the bottom.
    """

    height: int
    width: int
    zoom: int
    image: Rect
    patches: tuple[Rect, ...]
    patch_zoom: int
    bars: tuple[Rect, ...]
    bar_left: int
    text_scale: int
    title: Rect
    status: Rect
    image_size: tuple[int, int] = field(default=(0, 0))

    def location_at(self, row: float, col: float) -> tuple[float, float] | None:
        """The location ``(x, y)`` in [-1, 1]^2 under frame pixel ``(row, col)``, None if outside.

        The inverse of the drawing: the centre of the clicked image pixel, so that a glimpse
        there is centred on that pixel as the sensor rounds it.
        """
        if not self.image.contains(row, col):
            return None
        height, width = self.image_size
        pixel_row = (row - self.image.top) // self.zoom + 0.5
        pixel_col = (col - self.image.left) // self.zoom + 0.5
        return (2.0 * pixel_col / width - 1.0, 2.0 * pixel_row / height - 1.0)

    def class_at(self, row: float, col: float) -> int | None:
        """The class whose belief row is under frame pixel ``(row, col)``, None if none is."""
        for index, rect in enumerate(self.bars):
            if rect.contains(row, col):
                return index
        return None

    def point(self, location: np.ndarray) -> tuple[float, float]:
        """Frame pixel ``(row, col)`` of location ``(x, y)``'s centre."""
        height, width = self.image_size
        x, y = float(location[0]), float(location[1])
        return (
            self.image.top + (y + 1.0) / 2.0 * height * self.zoom,
            self.image.left + (x + 1.0) / 2.0 * width * self.zoom,
        )


def _patch_grid(spec: FrameSpec, image: Rect, left: int) -> tuple[tuple[Rect, ...], int, int]:
    """Rectangles of the glimpse patches (1 column for up to 2 scales, else 2), zoom, width."""
    scales, p = spec.num_scales, spec.patch_size
    columns = 1 if scales <= 2 else 2
    rows = math.ceil(scales / columns)
    label_h = text_size("0", TEXT_SCALE)[0] + 6
    available = (image.height - (rows - 1) * GAP - rows * label_h) // rows
    zoom = max(1, min(MAX_PATCH_ZOOM, available // p))
    side = p * zoom
    cell = max(side, text_size(f"{spec.side(scales - 1)}PX", TEXT_SCALE)[1]) + GAP
    rects = []
    for s in range(scales):
        r, c = divmod(s, columns)
        top = image.top + r * (label_h + side + GAP) + label_h
        rects.append(Rect(top, left + c * cell, side, side))
    return tuple(rects), zoom, columns * cell - GAP


def make_layout(spec: FrameSpec) -> Layout:
    """The frame layout for an environment's geometry (see :class:`Layout`)."""
    _, height, width = spec.canvas_shape
    zoom = max(1, IMAGE_SIDE // max(height, width))
    image = Rect(BAND + MARGIN, MARGIN, height * zoom, width * zoom)
    patches, patch_zoom, patches_width = _patch_grid(spec, image, image.right + MARGIN + 4)
    n = len(spec.classes)
    row_h = max(12, min(30, image.height // n))
    scale = TEXT_SCALE if row_h >= 18 else 1
    label_w = text_size("W" * min(LABEL_CHARS, max(len(c) for c in spec.classes)), scale)[1]
    pct_w = text_size("100%", scale)[1]
    bars_left = image.right + MARGIN + 4 + patches_width + 2 * MARGIN
    bar_left = bars_left + label_w + GAP
    row_width = label_w + GAP + BAR_WIDTH + GAP + pct_w
    bars = tuple(Rect(image.top + i * row_h, bars_left, row_h, row_width) for i in range(n))
    frame_width = bars_left + row_width + MARGIN
    bottom = max(image.bottom, patches[-1].bottom, bars[-1].bottom) + MARGIN
    return Layout(
        height=bottom + BAND,
        width=frame_width,
        zoom=zoom,
        image=image,
        patches=patches,
        patch_zoom=patch_zoom,
        bars=bars,
        bar_left=bar_left,
        text_scale=scale,
        title=Rect(0, 0, BAND, frame_width),
        status=Rect(bottom, 0, BAND, frame_width),
        image_size=(height, width),
    )


# ----------------------------------------------------------------------------- drawing


def _to_rgb(planes: np.ndarray) -> np.ndarray:
    """``(C, h, w)`` uint8 (C = 1 grey or 3 RGB) -> ``(h, w, 3)`` uint8."""
    if planes.shape[0] == 3:
        return np.ascontiguousarray(planes.transpose(1, 2, 0))
    return np.repeat(planes[0][:, :, None], 3, axis=2)


def square_rects(spec: FrameSpec, layout: Layout, location: np.ndarray) -> list[Rect]:
    """Frame rectangles of every scale's square at ``location`` ``(2,)``, smallest first.

    Uses :func:`glimpse_env.core.sensor.square_starts`, the sensor's own rounding.
    """
    sides = torch.tensor([spec.side(s) for s in range(spec.num_scales)])
    loc = torch.as_tensor(np.asarray(location, dtype=np.float32)).reshape(1, 2)
    rows, cols = square_starts(loc, layout.image_size, sides)  # (1, S) each
    z = layout.zoom
    return [
        Rect(layout.image.top + int(r) * z, layout.image.left + int(c) * z, side * z, side * z)
        for r, c, side in zip(rows[0].tolist(), cols[0].tolist(), sides.tolist(), strict=True)
    ]


def _draw_image(frame: np.ndarray, trace: EpisodeTrace, spec: FrameSpec, layout: Layout) -> None:
    image = layout.image
    draw_outline(
        frame, Rect(image.top - 2, image.left - 2, image.height + 4, image.width + 4), DIM, 1
    )
    blit(frame, upscale(_to_rgb(trace.canvas), layout.zoom), image.top, image.left)
    thickness = 2 if layout.zoom >= 2 else 1
    rects = square_rects(spec, layout, trace.locations[-1])
    for s in reversed(range(spec.num_scales)):  # the smallest on top
        draw_outline(frame, rects[s], scale_color(s), thickness, clip=image)


def _draw_path(frame: np.ndarray, trace: EpisodeTrace, layout: Layout) -> None:
    points = [layout.point(loc) for loc in trace.locations]
    for start, end in itertools.pairwise(points):
        draw_line(frame, start, end, PATH, thickness=2, clip=layout.image)
    scale = TEXT_SCALE if layout.image.height >= 200 else 1
    for number, (row, col) in enumerate(points, start=1):
        current = number == len(points)
        label = str(number)
        height, width = text_size(label, scale)
        draw_text(
            frame,
            label,
            round(row - height / 2),
            round(col - width / 2),
            DARK if current else TEXT,
            scale,
            background=scale_color(0) if current else (70, 70, 80),
            pad=2,
        )


def _draw_patches(frame: np.ndarray, trace: EpisodeTrace, spec: FrameSpec, layout: Layout) -> None:
    channels = spec.canvas_shape[0]
    pixels = np.clip(np.rint(trace.glimpse * 255.0), 0, 255).astype(np.uint8)  # (S*C, P, P)
    for s, rect in enumerate(layout.patches):
        color = scale_color(s)
        draw_text(frame, f"{spec.side(s)}PX", rect.top - 20, rect.left, color, TEXT_SCALE)
        border = Rect(rect.top - 3, rect.left - 3, rect.height + 6, rect.width + 6)
        draw_outline(frame, border, color, 2)
        patch = _to_rgb(pixels[s * channels : (s + 1) * channels])
        blit(frame, upscale(patch, layout.patch_zoom), rect.top, rect.left)


def _class_name(spec: FrameSpec, index: int) -> str:
    return spec.classes[index][:LABEL_CHARS]


def _draw_bars(frame: np.ndarray, trace: EpisodeTrace, spec: FrameSpec, layout: Layout) -> None:
    scale = layout.text_scale
    text_h = text_size("0", scale)[0]
    guess = trace.guess
    for index, row in enumerate(layout.bars):
        prob = float(trace.belief[index])
        text_top = row.top + (row.height - 4 - text_h) // 2
        is_label = trace.done and index == trace.label
        draw_text(
            frame,
            _class_name(spec, index),
            text_top,
            row.left,
            DARK if is_label else TEXT,
            scale,
            background=RIGHT if is_label else None,
            pad=2,
        )
        track = Rect(row.top, layout.bar_left, row.height - 4, BAR_WIDTH)
        fill_rect(frame, track, PANEL)
        color = BAR_TOP if index == guess and not trace.uniform else BAR
        if trace.done and index == guess:
            color = RIGHT if trace.correct else WRONG
        fill_rect(frame, Rect(track.top, track.left, track.height, round(prob * BAR_WIDTH)), color)
        draw_text(frame, f"{round(100 * prob)}%", text_top, track.right + GAP, DIM, scale)


def _draw_words(frame: np.ndarray, band: Rect, words: list[tuple[str, Color]]) -> None:
    """Write ``(text, colour)`` pieces left to right, vertically centred in ``band``."""
    top = band.top + (band.height - text_size("0", TEXT_SCALE)[0]) // 2
    left = band.left + MARGIN
    for text, color in words:
        left = draw_text(frame, text, top, left, color, TEXT_SCALE).right + 2 * GAP


def _status_words(trace: EpisodeTrace, spec: FrameSpec) -> list[tuple[str, Color]]:
    if trace.done:
        verdict = ("RIGHT", RIGHT) if trace.correct else ("WRONG", WRONG)
        return [
            (f"LABEL {_class_name(spec, trace.label)}", TEXT),
            (f"GUESS {_class_name(spec, trace.guess)}", TEXT),
            verdict,
            (f"RETURN {trace.episode_return:.2f}", DIM),
        ]
    if trace.uniform:
        return [("BELIEF UNIFORM", DIM)]
    top = f"{_class_name(spec, trace.guess)} ({round(100 * float(trace.belief[trace.guess]))}%)"
    return [("TOP CLASS", DIM), (top, TEXT)]


def draw_frame(
    trace: EpisodeTrace | None, spec: FrameSpec, layout: Layout, tag: str = ""
) -> np.ndarray:
    """One picture of an episode.

    Args:
        trace: the episode, or None for an empty frame (before the first reset).
        spec: the environment's geometry.
        layout: ``make_layout(spec)``.
        tag: written first in the title band (the vector env writes ``ENV i``).

    Returns:
        ``(layout.height, layout.width, 3)`` uint8.
    """
    frame = np.empty((layout.height, layout.width, 3), np.uint8)
    frame[:] = BACKGROUND
    fill_rect(frame, layout.title, PANEL)
    fill_rect(frame, layout.status, PANEL)
    title = [(tag, scale_color(1))] if tag else []
    title.append((spec.title.upper(), TEXT))
    if trace is None:
        _draw_words(frame, layout.title, [*title, ("CALL RESET()", DIM)])
        return frame
    glimpse_words = f"GLIMPSE {len(trace.locations)}/{spec.num_glimpses}"
    _draw_words(frame, layout.title, [*title, (glimpse_words, TEXT), (f"STEP {trace.steps}", DIM)])
    _draw_image(frame, trace, spec, layout)
    _draw_path(frame, trace, layout)
    _draw_patches(frame, trace, spec, layout)
    _draw_bars(frame, trace, spec, layout)
    _draw_words(frame, layout.status, _status_words(trace, spec))
    return frame


def tile_frames(frames: list[np.ndarray], columns: int | None = None, gap: int = 4) -> np.ndarray:
    """Tile equal-sized ``(h, w, 3)`` frames row-major into one grid frame.

    Args:
        frames: the tiles.
        columns: tiles per row; default ``ceil(sqrt(len(frames)))``.
        gap: pixels between tiles.

    Returns:
        ``(rows*h + (rows-1)*gap, columns*w + (columns-1)*gap, 3)`` uint8; unused cells are black.
    """
    count = len(frames)
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    height, width = frames[0].shape[:2]
    shape = (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3)
    grid = np.zeros(shape, np.uint8)
    for index, tile in enumerate(frames):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        grid[top : top + height, left : left + width] = tile
    return grid


# ----------------------------------------------------------------------------- env hook


class EpisodeRenderer:
    """Rendering state of an environment: traces of its first ``num_rows`` episodes.

    The environments create one only when ``render_mode`` is set and call :meth:`on_reset` and
    :meth:`on_step` with the core's batched state, so nothing is copied when not rendering.

    Args:
        core: the environment's core (its geometry and classes).
        render_mode: ``"rgb_array"`` or ``"human"``.
        num_rows: how many of the batch's episodes to draw (1 for the single env).
        window_title: the pygame window's caption (human mode).
    """

    def __init__(
        self,
        core: GlimpseCore,
        render_mode: str,
        num_rows: int = 1,
        window_title: str = "glimpse-env",
    ) -> None:
        self.spec = FrameSpec.from_core(core)
        self.layout = make_layout(self.spec)
        self.render_mode = render_mode
        self.num_rows = num_rows
        self.traces: list[EpisodeTrace | None] = [None] * num_rows
        self.window_title = window_title
        self.window = None  # a glimpse_env.pictures.window.Window, opened by the first human render

    def _rows(self, mask: torch.Tensor | None) -> list[int]:
        if mask is None:
            return list(range(self.num_rows))
        return mask[: self.num_rows].nonzero(as_tuple=True)[0].tolist()

    def on_reset(self, state: EpisodeState, mask: torch.Tensor | None = None) -> None:
        """Start new traces in the rows of ``mask`` ``(B,)`` bool (all rows if None)."""
        rows = self._rows(mask)
        if not rows:
            return
        index = torch.tensor(rows, device=state.label.device)
        canvas = state.canvas[index].cpu().numpy()
        location = state.location[index].cpu().numpy()
        glimpse = state.glimpse[index].cpu().numpy()
        belief = state.log_belief[index].exp().cpu().numpy()
        label = state.label[index].tolist()
        for i, row in enumerate(rows):
            self.traces[row] = EpisodeTrace(
                canvas=canvas[i],
                label=int(label[i]),
                locations=[location[i]],
                glimpse=glimpse[i],
                belief=belief[i],
            )

    def on_step(
        self, state: EpisodeState, result: StepResult, mask: torch.Tensor | None = None
    ) -> None:
        """Add a step to the traces in the rows of ``mask`` (all rows if None).

        ``state`` is the core's state right after the step (before any autoreset).
        """
        rows = [r for r in self._rows(mask) if self.traces[r] is not None]
        if not rows:
            return
        index = torch.tensor(rows, device=state.label.device)
        location = state.location[index].cpu().numpy()
        glimpse = state.glimpse[index].cpu().numpy()
        belief = result.belief[index].cpu().numpy()
        reward = result.reward[index].tolist()
        terminated = result.terminated[index].tolist()
        for i, row in enumerate(rows):
            trace = self.traces[row]
            assert trace is not None
            trace.steps += 1
            trace.belief = belief[i]
            trace.episode_return += float(reward[i])
            if terminated[i]:
                trace.done = True
            else:
                trace.locations.append(location[i])
                trace.glimpse = glimpse[i]

    def frame(self) -> np.ndarray:
        """The current picture: one episode's frame, or a grid of ``num_rows`` tiles."""
        if self.num_rows == 1:
            return draw_frame(self.traces[0], self.spec, self.layout)
        frames = [
            draw_frame(trace, self.spec, self.layout, tag=f"ENV {row}")
            for row, trace in enumerate(self.traces)
        ]
        return tile_frames(frames)

    def render(self, fps: float) -> np.ndarray | None:
        """``rgb_array``: return :meth:`frame`. ``human``: show it in the window at ``fps``."""
        if self.render_mode == "rgb_array":
            return self.frame()
        if self.window is None:
            from glimpse_env.pictures.window import Window

            self.window = Window(self.window_title)
        if self.window.is_open:
            self.window.show(self.frame())
            self.window.pump()
            self.window.wait(fps)
        return None

    def close(self) -> None:
        """Close the window, if one is open."""
        if self.window is not None:
            self.window.close()
            self.window = None
