"""The glimpse sensor's semantics, pinned on hand-made images."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from glimpse_env.core.sensor import (
    extract_glimpses,
    glimpse_from_integral,
    integral_image,
    reference_glimpses,
    square_starts,
)


def ramp(height: int = 28, width: int = 28) -> torch.Tensor:
    """(1, 1, H, W) uint8 image whose pixel (r, c) is (r * W + c) % 256."""
    values = torch.arange(height * width) % 256
    return values.reshape(1, 1, height, width).to(torch.uint8)


def test_centre_glimpse_is_the_centre_crop():
    image = ramp()
    glimpse = extract_glimpses(image, torch.zeros(1, 2), patch_size=8)
    expected = image[0, 0, 10:18, 10:18].float() / 255
    assert glimpse.shape == (1, 1, 8, 8)
    torch.testing.assert_close(glimpse[0, 0], expected)


def test_corner_glimpse_is_zero_padded():
    image = torch.full((1, 1, 28, 28), 255, dtype=torch.uint8)
    glimpse = extract_glimpses(image, torch.tensor([[-1.0, -1.0]]), patch_size=8)[0, 0]
    # Centred on the top-left corner: the top-left 4x4 quarter lies outside the image.
    assert torch.all(glimpse[:4, :] == 0) and torch.all(glimpse[:, :4] == 0)
    assert torch.all(glimpse[4:, 4:] == 1)


def test_larger_scale_is_the_average_pooled_crop():
    image = ramp()
    glimpse = extract_glimpses(image, torch.zeros(1, 2), patch_size=4, num_scales=3)
    assert glimpse.shape == (1, 3, 4, 4)
    crop = image[:, :, 6:22, 6:22].float() / 255  # the 16x16 square around the centre
    torch.testing.assert_close(glimpse[0, 2], F.avg_pool2d(crop, 4)[0, 0])
    torch.testing.assert_close(glimpse[0, 1], F.avg_pool2d(crop[:, :, 4:12, 4:12], 2)[0, 0])


def test_x_is_the_column_and_y_the_row():
    image = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    image[0, 0, 3, 24] = 255  # near the top-right corner: row 3, column 24
    # Centre on the corner between pixels (2, 23) and (3, 24): x = 24 / 14 - 1 (column),
    # y = 3 / 14 - 1 (row); a 2x2 patch covers rows 2-3 and columns 23-24.
    location = torch.tensor([[24 / 14 - 1, 3 / 14 - 1]])
    glimpse = extract_glimpses(image, location, patch_size=2)[0, 0]
    assert glimpse.sum() == 1 and glimpse[1, 1] == 1  # the pixel at the patch's lower right
    swapped = extract_glimpses(image, location.flip(1), patch_size=2)[0, 0]
    assert swapped.sum() == 0


def test_square_starts_rounds_halves_up():
    rows, cols = square_starts(torch.tensor([[0.0, 0.0], [-1.0, 1.0]]), (28, 28), 8)
    assert cols.tolist() == [10, -4] and rows.tolist() == [10, 24]


@pytest.mark.parametrize(
    ("size", "channels", "patch", "scales", "factor"),
    [(28, 1, 8, 1, 2), (60, 1, 12, 3, 2), (100, 1, 12, 4, 2), (32, 3, 8, 2, 3)],
)
def test_batched_sensor_equals_the_per_sample_loop(size, channels, patch, scales, factor):
    gen = torch.Generator().manual_seed(size)
    images = torch.randint(0, 256, (16, channels, size, size), dtype=torch.uint8, generator=gen)
    locations = torch.rand(16, 2, generator=gen) * 2.2 - 1.1
    fast = extract_glimpses(images, locations, patch, scales, factor)
    slow = reference_glimpses(images, locations, patch, scales, factor)
    assert fast.shape == (16, scales * channels, patch, patch)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-6)
    as_float = extract_glimpses(images.float() / 255, locations, patch, scales, factor)
    torch.testing.assert_close(as_float, slow, rtol=0, atol=1e-6)


def test_channels_are_grouped_by_scale():
    image = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    image[0, 1] = 255  # only the green channel is lit
    glimpse = extract_glimpses(image, torch.zeros(1, 2), patch_size=4, num_scales=2)
    assert glimpse.shape == (1, 6, 4, 4)
    lit = [int(glimpse[0, i].sum() > 0) for i in range(6)]
    assert lit == [0, 1, 0, 0, 1, 0]  # channel s*C + c


def test_integral_table_is_reused_across_glimpses():
    image = ramp(60, 60)
    table = integral_image(image)
    assert table.shape == (1, 1, 61, 61) and table.dtype == torch.int32
    for location in ([0.3, -0.2], [-0.9, 0.9]):
        loc = torch.tensor([location])
        torch.testing.assert_close(
            glimpse_from_integral(table, loc, 12, 3), extract_glimpses(image, loc, 12, 3)
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_size": 0}, "patch_size"),
        ({"patch_size": 8, "num_scales": 0}, "num_scales"),
        ({"patch_size": 8, "scale_factor": 1.5}, "scale_factor"),
    ],
)
def test_bad_geometry_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        extract_glimpses(ramp(), torch.zeros(1, 2), **kwargs)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        extract_glimpses(ramp(), torch.zeros(2, 2), patch_size=8)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        extract_glimpses(ramp()[0], torch.zeros(1, 2), patch_size=8)
