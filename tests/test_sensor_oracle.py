"""The sensor against an oracle written from the documented pixel rule alone.

The rule (``glimpse_env/core/sensor.py``, ``DESIGN.md``): a location ``(x, y)`` in ``[-1, 1]^2``
has ``x`` the column and ``y`` the row, ``(-1, -1)`` the top-left corner of the image. On an
``H x W`` image its centre is the point ``((x + 1) / 2 * W, (y + 1) / 2 * H)`` in pixel-edge
coordinates (column, row). A glimpse is ``S`` concentric squares of sides ``P, P*k, ...``; a
square of side ``L`` starts at ``centre - L / 2`` rounded to the nearest pixel edge, halves
rounding up. Scale ``s`` is reduced to ``P x P`` by averaging ``k^s x k^s`` blocks, pixels outside
the image count as zero, and output channel ``s*C + c`` holds scale ``s`` of image channel ``c``.
``uint8`` images are divided by 255.

The oracle below uses exact rational arithmetic (``fractions.Fraction``) on the float32 location
the sensor is given, and crops by explicit pixel indices: it shares no code with the sensor. The
images are mostly non-square, so a sensor that takes the width for the height (or the row for the
column) fails here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.sensor import (
    extract_glimpses,
    glimpse_from_integral,
    integral_image,
    reference_glimpses,
)
from glimpse_env.data.catalog import ImageDataset


def oracle_start(coordinate: float, extent: int, side: int) -> int:
    """First pixel of a square of ``side`` centred at ``coordinate`` in [-1, 1] of ``extent``."""
    centre = (Fraction(coordinate) + 1) / 2 * extent
    return math.floor(centre - Fraction(side, 2) + Fraction(1, 2))  # halves round up


def oracle_glimpse(
    image: np.ndarray, x: float, y: float, patch: int, scales: int, factor: int
) -> np.ndarray:
    """One glimpse ``(S*C, P, P)`` of ``image`` ``(C, H, W)`` (values already in [0, 1])."""
    channels, height, width = image.shape
    out = []
    for s in range(scales):
        block = factor**s
        side = patch * block
        rows = oracle_start(y, height, side) + np.arange(side)
        cols = oracle_start(x, width, side) + np.arange(side)
        square = np.zeros((channels, side, side))  # zero outside the image
        for i, r in enumerate(rows):
            for j, q in enumerate(cols):
                if 0 <= r < height and 0 <= q < width:
                    square[:, i, j] = image[:, r, q]
        out.append(square.reshape(channels, patch, block, patch, block).mean(axis=(2, 4)))
    return np.concatenate(out)


def oracle(
    images: torch.Tensor, locations: torch.Tensor, patch: int, scales: int, factor: int
) -> np.ndarray:
    """Glimpses ``(B, S*C, P, P)`` of ``images`` ``(B, C, H, W)`` at ``locations`` ``(B, 2)``."""
    pixels = images.double().numpy()
    if images.dtype == torch.uint8:
        pixels = pixels / 255.0
    return np.stack(
        [
            oracle_glimpse(pixels[b], float(x), float(y), patch, scales, factor)
            for b, (x, y) in enumerate(locations.tolist())
        ]
    )


def check(images, locations, patch, scales, factor):
    """The sensor and the benchmarks' loop reference both match the oracle."""
    expected = oracle(images, locations, patch, scales, factor)
    for sensor in (extract_glimpses, reference_glimpses):
        got = sensor(images, locations, patch, scales, factor)
        assert got.shape == (len(images), scales * images.shape[1], patch, patch)
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-6, err_msg=sensor.__name__)


def test_oracle_reads_the_documented_example():
    """The docstring's example: 28x28 at (0, 0) with P = 8 covers rows and columns 10..17."""
    assert oracle_start(0.0, 28, 8) == 10
    assert oracle_start(-1.0, 28, 8) == -4 and oracle_start(1.0, 28, 8) == 24


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_non_square_images_at_corners_and_edges(dtype):
    """A wide and a tall image, every corner and edge midpoint, three scales, two channels."""
    g = torch.Generator().manual_seed(0)
    points = [(-1, -1), (1, -1), (-1, 1), (1, 1), (0, -1), (-1, 0), (0.5, -0.25), (-0.8, 0.6)]
    locations = torch.tensor(points, dtype=torch.float32)
    for height, width in ((10, 23), (21, 9)):
        images = torch.randint(0, 256, (len(points), 2, height, width), generator=g)
        images = images.to(torch.uint8) if dtype == torch.uint8 else images.float() / 255
        check(images, locations, patch=4, scales=3, factor=2)


def test_defaults_are_one_scale_and_a_factor_of_two():
    """The documented defaults: ``num_scales=1``, ``scale_factor=2``."""
    g = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (2, 2, 9, 13), generator=g).to(torch.uint8)
    locations = torch.tensor([[0.1, -0.7], [-1.0, 0.4]])
    for sensor in (extract_glimpses, reference_glimpses):
        got = sensor(images, locations, 3)
        assert got.shape == (2, 2, 3, 3)
        assert torch.equal(got, sensor(images, locations, 3, 1, 2))
    table = integral_image(images)
    assert torch.equal(
        glimpse_from_integral(table, locations, 3), extract_glimpses(images, locations, 3)
    )
    # two scales with the default factor: the second averages 2x2 blocks
    np.testing.assert_allclose(
        reference_glimpses(images, locations, 3, 2).numpy(),
        oracle(images, locations, 3, 2, 2),
        atol=1e-6,
    )


def test_wide_image_uses_the_width_for_x_and_the_height_for_y():
    """One bright pixel on a 6x32 image, seen by a 2x2 glimpse whose top-left pixel it is."""
    image = torch.zeros(1, 1, 6, 32, dtype=torch.uint8)
    image[0, 0, 1, 25] = 255  # row 1, column 25: centre (25.5, 1.5) -> x = 0.59375, y = -0.5
    glimpse = extract_glimpses(image, torch.tensor([[0.59375, -0.5]]), patch_size=2)
    assert glimpse[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_core_glimpses_of_a_non_square_dataset_match_the_oracle():
    """The batched core on a custom 12x20 dataset: reset and step glimpses follow the rule."""
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (5, 3, 12, 20), generator=g).to(torch.uint8)
    data = ImageDataset(images, torch.arange(5) % 2, classes=("a", "b"))
    config = GlimpseConfig(dataset=data, num_glimpses=3, patch_size=4, num_scales=2)
    core = GlimpseCore(config)
    state = core.reset(torch.Generator().manual_seed(2), batch_size=5)
    expected = oracle(state.canvas, state.location, 4, 2, 2)
    np.testing.assert_allclose(state.glimpse.numpy(), expected, atol=1e-6)
    target = torch.rand(5, 2, generator=g) * 2 - 1
    state, _ = core.step(state, target, torch.zeros(5, 2))
    expected = oracle(state.canvas, target, 4, 2, 2)
    np.testing.assert_allclose(state.glimpse.numpy(), expected, atol=1e-6)


@st.composite
def coordinates(draw, extent: int) -> float:
    """A location coordinate: the borders, exact half-pixel centres (as float32), or anywhere."""
    kind = draw(st.sampled_from(["border", "half", "pixel", "any"]))
    if kind == "border":
        return draw(st.sampled_from([-1.0, 1.0, 0.0]))
    if kind in ("half", "pixel"):
        # centre = m / 2 pixel edges: odd m is a pixel centre, even m a pixel edge
        m = draw(st.integers(0, 2 * extent))
        value = m / extent - 1.0
        return float(np.float32(value))
    # Any float32 on a 2^-24 grid: the sensor works in float64, exact wherever x + 1 is (which
    # excludes only values within ~2^-29 of zero, where a tie can round as at zero).
    return draw(st.integers(-(2**24), 2**24)) / 2**24


@st.composite
def sensor_cases(draw):
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    channels = draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    patch = draw(st.integers(1, 5))
    scales = draw(st.integers(1, 3))
    factor = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    points = [(draw(coordinates(width)), draw(coordinates(height))) for _ in range(batch)]
    floating = draw(st.booleans())
    return height, width, channels, patch, scales, factor, seed, points, floating


@given(sensor_cases())
def test_sensor_matches_the_oracle_everywhere(case):
    """Random sizes (tiny, non-square), locations (borders, half pixels), scales and channels."""
    height, width, channels, patch, scales, factor, seed, points, floating = case
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (len(points), channels, height, width), generator=g)
    images = images.float() / 255 if floating else images.to(torch.uint8)
    locations = torch.tensor(points, dtype=torch.float32)
    check(images, locations, patch, scales, factor)


@given(sensor_cases())
def test_a_table_serves_every_glimpse_of_an_episode(case):
    """One summed-area table, glimpses at several locations: each equals a fresh extraction."""
    height, width, channels, patch, scales, factor, seed, points, _ = case
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (len(points), channels, height, width), generator=g)
    images = images.to(torch.uint8)
    table = integral_image(images)
    for shift in (0.0, 0.5, -0.3):
        locations = (torch.tensor(points, dtype=torch.float32) + shift).clamp(-1, 1)
        got = glimpse_from_integral(table, locations, patch, scales, factor)
        np.testing.assert_allclose(
            got.numpy(), oracle(images, locations, patch, scales, factor), atol=1e-6
        )


@pytest.mark.parametrize(("width", "dtype"), [(4_210_752, torch.int32), (4_210_753, torch.int64)])
def test_integer_tables_are_int32_while_exact(width, dtype):
    """The documented choice: int32 while every sum fits (255 * H * W < 2^31), else int64.

    2 x 4,210,752 white pixels sum to 2,147,483,520 < 2^31; one more column does not fit."""
    image = torch.full((1, 1, 2, width), 255, dtype=torch.uint8)
    table = integral_image(image)
    assert table.dtype == dtype
    assert table[0, 0, -1, -1].item() == 255 * 2 * width
    assert table.shape == (1, 1, 3, width + 1)


def test_float_images_give_the_float32_rounding_of_the_exact_mean():
    """A float image's block sums are divided in float64 and rounded once to float32 (a block
    of 3x3 or 9x9 pixels has an area that is not a power of two, so dividing in float32 would
    round twice)."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(8, 2, 23, 37, generator=g, dtype=torch.float64)
    locations = torch.rand(8, 2, generator=g) * 2 - 1
    got = extract_glimpses(images, locations, 5, num_scales=3, scale_factor=3)
    expected = oracle(images, locations, 5, 3, 3).astype(np.float32)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_glimpses_are_cut_on_the_tables_device():
    """Every index is made on the table's device, wherever the locations are (``meta``: a
    device without data, where a tensor left on the CPU fails)."""
    table = integral_image(torch.zeros(3, 2, 20, 30)).to("meta")
    locations = torch.tensor([[0.0, 0.0], [-1.0, 1.0], [0.5, -0.25]])  # on the CPU
    glimpse = glimpse_from_integral(table, locations, 4, num_scales=2, scale_factor=2)
    assert glimpse.device.type == "meta" and glimpse.shape == (3, 4, 4, 4)
    assert glimpse.dtype == torch.float32
