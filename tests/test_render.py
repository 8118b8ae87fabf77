"""Frames: size, the squares where the sensor cuts, the patches the agent gets, bars, the grid."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import glimpse_env  # noqa: F401
from glimpse_env import GlimpseVectorEnv
from glimpse_env.data import ImageDataset
from glimpse_env.pictures.raster import upscale
from glimpse_env.pictures.render import RIGHT, SCALE_COLORS, WRONG, make_layout

DIGITS = tuple("0123456789")


def dataset(channels: int = 1, side: int = 28, n: int = 4, seed: int = 0) -> ImageDataset:
    """Random images (labels 0..n-1), so every drawn region has content to compare."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, side, side), generator=gen, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 10, classes=DIGITS)


def make(**kwargs):
    kwargs.setdefault("dataset", dataset())
    return gym.make("GlimpseEnv-v0", render_mode="rgb_array", **kwargs)


def action(x: float, y: float, logits=None) -> dict[str, np.ndarray]:
    logits = np.zeros(10, np.float32) if logits is None else np.asarray(logits, np.float32)
    return {"location": np.array([x, y], np.float32), "logits": logits}


def is_color(pixel: np.ndarray, color) -> bool:
    return tuple(int(v) for v in pixel) == tuple(color)


def test_frame_shape_dtype_and_size_constant_over_an_episode():
    env = make()
    env.reset(seed=0)
    layout = env.unwrapped.renderer.layout
    frames = [env.render()]
    for _ in range(6):
        env.step(env.action_space.sample())
        frames.append(env.render())
    for frame in frames:
        assert frame.dtype == np.uint8
        assert frame.shape == (layout.height, layout.width, 3)
    assert not np.array_equal(frames[0], frames[-1])
    empty = make().unwrapped.render()  # before any reset (unwrapped: no order enforcing)
    assert empty.shape == frames[0].shape


@pytest.mark.parametrize("side", [28, 100])
def test_image_panel_is_readable_size_for_small_and_large_canvases(side):
    env = make(dataset=dataset(side=side))
    env.reset(seed=0)
    layout = env.unwrapped.renderer.layout
    assert 280 <= layout.image.height <= 360
    frame = env.render()
    image = frame[layout.image.top : layout.image.bottom, layout.image.left : layout.image.right]
    canvas = env.unwrapped.state.canvas[0, 0].numpy()
    # Away from the squares and markers the panel is the canvas, enlarged pixel for pixel.
    expected = upscale(canvas, layout.zoom)
    assert (image[..., 0] == expected).mean() > 0.8


def _scale0_square_pixels(frame, layout, row, col, side):
    """Frame pixels on the four edges of an image-pixel square (row, col, side)."""
    z = layout.zoom
    top, left, size = layout.image.top + row * z, layout.image.left + col * z, side * z
    mid = size // 3  # a third along each edge: away from corners and the centred marker
    return [
        frame[top, left + mid],
        frame[top + size - 1, left + mid],
        frame[top + mid, left],
        frame[top + mid, left + size - 1],
    ]


def test_glimpse_square_drawn_at_the_location():
    data = ImageDataset(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), torch.zeros(1).long(), DIGITS)
    env = make(dataset=data, initial_location="center", num_scales=2)
    env.reset(seed=0)
    layout = env.unwrapped.renderer.layout
    frame = env.render()
    # Location (0, 0) on 28x28 with P=8: rows and columns 10..17 (the sensor's documented rounding);
    # scale 1 (16 px): rows and columns 6..21.
    for pixel in _scale0_square_pixels(frame, layout, 10, 10, 8):
        assert is_color(pixel, SCALE_COLORS[0])
    for pixel in _scale0_square_pixels(frame, layout, 6, 6, 16):
        assert is_color(pixel, SCALE_COLORS[1])
    z = layout.zoom
    outside = frame[layout.image.top + 10 * z - 1, layout.image.left + 12 * z]
    assert is_color(outside, (0, 0, 0))  # just above the square: the black image

    env.step(action(0.5, -0.5))  # centre column 21, row 7: the 8 px square starts at (3, 17)
    frame = env.render()
    for pixel in _scale0_square_pixels(frame, layout, 3, 17, 8):
        assert is_color(pixel, SCALE_COLORS[0])
    for pixel in _scale0_square_pixels(frame, layout, 10, 10, 8):
        assert not is_color(pixel, SCALE_COLORS[0])


def test_patches_are_the_glimpse_the_agent_receives_grey_and_colour():
    for channels, side in ((1, 28), (3, 32)):
        env = make(dataset=dataset(channels, side), num_scales=2)
        obs, _ = env.reset(seed=1)
        obs, *_ = env.step(action(-0.3, 0.6))
        frame = env.render()
        layout = env.unwrapped.renderer.layout
        pixels = np.rint(obs["glimpse"] * 255).astype(np.uint8)  # (2*C, P, P)
        for s, rect in enumerate(layout.patches):
            drawn = frame[rect.top : rect.bottom, rect.left : rect.right]
            planes = pixels[s * channels : (s + 1) * channels].transpose(1, 2, 0)  # (P, P, C)
            expected = upscale(np.broadcast_to(planes, (*planes.shape[:2], 3)), layout.patch_zoom)
            np.testing.assert_array_equal(drawn, expected)


def test_belief_bars_and_the_outcome():
    env = make(dataset=dataset(n=1), num_glimpses=2)  # label 0
    env.reset(seed=0)
    layout = env.unwrapped.renderer.layout
    logits = np.full(10, -20.0)
    logits[3] = 20.0  # all belief on class 3
    env.step(action(0, 0, logits))
    frame = env.render()
    bar_row = layout.bars[3].top + 2
    filled = frame[bar_row, layout.bar_left : layout.bar_left + 200]
    empty = frame[layout.bars[5].top + 2, layout.bar_left : layout.bar_left + 200]
    assert (filled != filled[-1]).any(axis=1).sum() >= 155  # ~100% of a 160 px bar
    assert len({tuple(p) for p in empty[1:150]}) == 1  # 0%: only the track
    status = frame[layout.status.top : layout.status.bottom]
    assert not (status == WRONG).all(-1).any()  # no verdict before the end

    env.step(action(0, 0, logits))  # the final guess: 3, wrong (label 0)
    frame = env.render()
    status = frame[layout.status.top : layout.status.bottom]
    assert (status == WRONG).all(-1).any() and not (status == RIGHT).all(-1).any()
    guess_bar = frame[bar_row, layout.bar_left + 5]
    assert is_color(guess_bar, WRONG)
    label_row = frame[layout.bars[0].top : layout.bars[0].bottom, layout.bars[0].left :][:, :30]
    assert (label_row == RIGHT).all(-1).any()  # the true class is marked

    logits = np.full(10, -20.0)
    logits[0] = 20.0
    env.reset(seed=0)
    env.step(action(0, 0, logits))
    env.step(action(0, 0, logits))
    status = env.render()[layout.status.top : layout.status.bottom]
    assert (status == RIGHT).all(-1).any() and not (status == WRONG).all(-1).any()


def test_path_numbers_every_glimpse():
    env = make(dataset=dataset(n=1), num_glimpses=4)
    env.reset(seed=0)
    trace = env.unwrapped.renderer.traces[0]
    for x in (-0.5, 0.5, 0.0):
        env.step(action(x, x))
    assert len(trace.locations) == 4
    np.testing.assert_allclose(trace.locations[-1], [0.0, 0.0])
    frame = env.render()
    layout = env.unwrapped.renderer.layout
    row, col = (round(v) for v in layout.point(np.array([-0.5, -0.5])))
    patch = frame[row - 8 : row + 8, col - 8 : col + 8]
    assert (patch == (70, 70, 80)).all(-1).any()  # an earlier location's marker box


def test_no_history_without_render_mode():
    env = gym.make("GlimpseEnv-v0", dataset=dataset())
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert env.unwrapped.renderer is None
    vec = gym.make_vec(
        "GlimpseEnv-v0", num_envs=2, vectorization_mode="vector_entry_point", dataset=dataset()
    )
    assert vec.renderer is None


def test_check_env_passes_with_rgb_array(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = make()
    check_env(env.unwrapped)  # also makes a human-mode env from the spec and renders it
    env.close()


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step"])
def test_vector_env_renders_a_grid_of_its_first_envs(autoreset_mode):
    env = gym.make_vec(
        "GlimpseEnv-v0",
        num_envs=5,
        vectorization_mode="vector_entry_point",
        render_mode="rgb_array",
        render_envs=4,
        autoreset_mode=autoreset_mode,
        num_glimpses=2,
        dataset=dataset(n=8),
    )
    env.reset(seed=0)
    layout = env.renderer.layout
    for step in range(4):
        if step:
            env.step(env.action_space.sample())
        grid = env.render()
        assert grid.shape == (2 * layout.height + 4, 2 * layout.width + 4, 3)
        for i in range(4):
            top, left = (i // 2) * (layout.height + 4), (i % 2) * (layout.width + 4)
            tile = grid[top : top + layout.height, left : left + layout.width]
            image = tile[
                layout.image.top : layout.image.bottom, layout.image.left : layout.image.right
            ]
            trace = env.renderer.traces[i]
            if autoreset_mode == "same_step" or not trace.done:
                canvas = env.state.canvas[i, 0].numpy()
                assert (image[..., 0] == upscale(canvas, layout.zoom)).mean() > 0.8
    env.close()


def test_make_layout_fits_many_classes_and_scales():
    from glimpse_env.pictures.render import FrameSpec

    spec = FrameSpec((3, 100, 100), 12, 4, 2, tuple(f"class{i}" for i in range(40)), 8)
    layout = make_layout(spec)
    assert len(layout.bars) == 40 and len(layout.patches) == 4
    assert all(bar.bottom <= layout.status.top for bar in layout.bars)
    assert all(p.right <= layout.bars[0].left for p in layout.patches)


def _pygame(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame

    return pygame


def test_human_mode_shows_the_frame_and_close_releases_the_window(monkeypatch):
    pygame = _pygame(monkeypatch)
    env = gym.make("GlimpseEnv-v0", render_mode="human", dataset=dataset())
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 1000}
    env.reset(seed=0)
    env.step(env.action_space.sample())
    renderer = env.unwrapped.renderer
    window = renderer.window
    assert window.is_open and pygame.display.get_init()
    assert window.size == (renderer.layout.width, renderer.layout.height)
    shown = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
    np.testing.assert_array_equal(shown, renderer.frame())
    assert env.render() is None
    env.close()
    assert not window.is_open and not pygame.display.get_init()


def test_human_window_closed_by_the_user(monkeypatch):
    pygame = _pygame(monkeypatch)
    env = gym.make("GlimpseEnv-v0", render_mode="human", dataset=dataset())
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 1000}
    env.reset(seed=0)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    env.step(env.action_space.sample())  # renders, sees the QUIT, closes the window
    assert not env.unwrapped.renderer.window.is_open and not pygame.display.get_init()
    env.step(env.action_space.sample())  # the env keeps working without a window
    env.close()


def test_vector_human_mode(monkeypatch):
    pygame = _pygame(monkeypatch)
    env = gym.make_vec(
        "GlimpseEnv-v0",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        render_mode="human",
        dataset=dataset(),
    )
    env.metadata = {**env.metadata, "render_fps": 1000}
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert pygame.display.get_surface().get_size() == env.renderer.window.size
    env.close()
    assert not pygame.display.get_init()


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step"])
def test_each_tile_follows_its_own_env_through_autoresets(autoreset_mode):
    """The vector env's tiles (its first ``render_envs``, 4 by default) trace each env's own
    episode: steps, path and end, and a new trace when that env restarts."""
    env = GlimpseVectorEnv(
        num_envs=5, render_mode="rgb_array", autoreset_mode=autoreset_mode, num_glimpses=2,
        dataset=dataset(n=8),
    )  # fmt: skip
    assert env.renderer.num_rows == 4 and env.renderer.window_title == env.core.dataset_name
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def traces_match(steps: int, done: bool) -> None:
        for i, trace in enumerate(env.renderer.traces):
            assert (trace.steps, trace.done, trace.label) == (steps, done, int(env.state.label[i]))
            np.testing.assert_array_equal(trace.locations[-1], env.state.location[i].numpy())

    traces_match(0, False)
    act = lambda: {"location": rng.uniform(-1, 1, (5, 2)), "logits": rng.normal(size=(5, 10))}  # noqa: E731
    env.step(act())
    traces_match(1, False)
    env.step(act())  # the episodes end
    if autoreset_mode == "same_step":
        traces_match(0, False)  # restarted in the same step
    else:
        traces_match(2, True)
        env.step(act())
        traces_match(0, False)  # restarted on the following step
    assert all(len(trace.locations) == 1 for trace in env.renderer.traces)
    env.close()


def test_rendering_a_vector_env_made_without_a_render_mode_says_how():
    env = GlimpseVectorEnv(num_envs=2, dataset=dataset())
    env.reset(seed=0)
    with pytest.warns(UserWarning) as warned:
        assert env.render() is None
    assert (
        'render() called with render_mode=None; make the vector env with render_mode="rgb_array"'
        ' or "human"'
    ) in str(warned[0].message)


def test_one_tile_is_allowed():
    env = GlimpseVectorEnv(num_envs=3, render_mode="rgb_array", render_envs=1, dataset=dataset())
    env.reset(seed=0)
    assert env.renderer.num_rows == 1 and env.render().ndim == 3
