"""Translated and cluttered canvases against an oracle that pastes pixel by pixel.

The rule (``glimpse_env/data/canvas.py``): a black ``side x side`` canvas; each clutter piece is
the ``c x c`` crop at ``clutter_crop`` of source image ``clutter_source``, pasted at
``clutter_offset``; the image is pasted at ``offset``; where pastes overlap the brighter pixel
stays. The sampled parameters keep every paste inside the canvas and every crop inside its
source, and reach every allowed position.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from glimpse_env.data.canvas import CanvasParams, CanvasSpec, make_canvases, sample_canvas_params


def oracle_canvases(images, params: CanvasParams, spec: CanvasSpec, sources) -> np.ndarray:
    """Paste with Python loops, keeping the per-pixel maximum."""
    batch, channels = images.shape[:2]
    side, c = spec.canvas_size, spec.clutter_size
    out = np.zeros((batch, channels, side, side), dtype=np.uint8)

    def paste(b, block, top, left):
        for i in range(block.shape[1]):
            for j in range(block.shape[2]):
                out[b, :, top + i, left + j] = np.maximum(
                    out[b, :, top + i, left + j], block[:, i, j]
                )

    for b in range(batch):
        for k in range(spec.clutter):
            source = sources[int(params.clutter_source[b, k])].numpy()
            row, col = params.clutter_crop[b, k].tolist()
            paste(b, source[:, row : row + c, col : col + c], *params.clutter_offset[b, k].tolist())
        paste(b, images[b].numpy(), *params.offset[b].tolist())
    return out


@st.composite
def canvas_cases(draw):
    height, width = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    side = draw(st.integers(max(height, width), 16))
    clutter = draw(st.integers(0, 3))
    clutter_size = draw(st.integers(1, min(height, width)))
    channels, batch = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    return (
        CanvasSpec(side, clutter, clutter_size),
        (height, width),
        channels,
        batch,
        draw(st.integers(0, 2**31 - 1)),
    )


@given(canvas_cases())
def test_canvases_match_the_oracle(case):
    spec, (height, width), channels, batch, seed = case
    g = torch.Generator().manual_seed(seed)
    sources = torch.randint(0, 256, (6, channels, height, width), generator=g).to(torch.uint8)
    images = sources[:batch] if batch <= 6 else sources
    params = sample_canvas_params(batch, spec, (height, width), len(sources), g)
    got = make_canvases(images, params, spec, sources)
    assert got.dtype == torch.uint8
    assert got.shape == (batch, channels, spec.canvas_size, spec.canvas_size)
    np.testing.assert_array_equal(got.numpy(), oracle_canvases(images, params, spec, sources))


@given(canvas_cases())
def test_sampled_parameters_stay_inside(case):
    spec, (height, width), _, batch, seed = case
    params = sample_canvas_params(
        batch, spec, (height, width), 5, torch.Generator().manual_seed(seed)
    )
    k, c = spec.clutter, spec.clutter_size
    assert params.offset.shape == (batch, 2) and params.offset.dtype == torch.int64
    assert params.clutter_source.shape == (batch, k) and params.clutter_crop.shape == (batch, k, 2)
    assert params.clutter_offset.shape == (batch, k, 2)
    assert 0 <= params.offset.min() and params.offset.max() <= spec.canvas_size - max(height, width)
    if k:
        assert 0 <= params.clutter_source.min() and params.clutter_source.max() < 5
        assert (
            0 <= params.clutter_crop[..., 0].min()
            and params.clutter_crop[..., 0].max() <= height - c
        )
        assert (
            0 <= params.clutter_crop[..., 1].min()
            and params.clutter_crop[..., 1].max() <= width - c
        )
        assert (
            0 <= params.clutter_offset.min() and params.clutter_offset.max() <= spec.canvas_size - c
        )


def test_sampled_parameters_reach_every_position():
    """Many draws of a small case cover every allowed value of every parameter."""
    spec = CanvasSpec(canvas_size=7, clutter=2, clutter_size=2)
    params = sample_canvas_params(4000, spec, (3, 5), 4, torch.Generator().manual_seed(0))
    assert sorted(params.offset[:, 0].unique().tolist()) == [0, 1, 2]  # 7 - max(3, 5) + 1 rows
    assert sorted(params.offset[:, 1].unique().tolist()) == [0, 1, 2]
    assert sorted(params.clutter_source.unique().tolist()) == [0, 1, 2, 3]
    assert sorted(params.clutter_crop[..., 0].unique().tolist()) == [0, 1]  # 3 - 2 + 1
    assert sorted(params.clutter_crop[..., 1].unique().tolist()) == [0, 1, 2, 3]  # 5 - 2 + 1
    assert sorted(params.clutter_offset.unique().tolist()) == list(range(6))  # 7 - 2 + 1


def same_params(a: CanvasParams, b: CanvasParams) -> bool:
    return all(torch.equal(getattr(a, name), getattr(b, name)) for name in vars(a))


def test_same_generator_state_same_parameters():
    spec = CanvasSpec(canvas_size=12, clutter=3, clutter_size=3)
    first = sample_canvas_params(5, spec, (8, 8), 9, torch.Generator().manual_seed(4))
    again = sample_canvas_params(5, spec, (8, 8), 9, torch.Generator().manual_seed(4))
    assert same_params(first, again)


def test_params_index_and_move_as_one():
    spec = CanvasSpec(canvas_size=12, clutter=2, clutter_size=3)
    params = sample_canvas_params(5, spec, (8, 8), 9, torch.Generator().manual_seed(4))
    index = torch.tensor([3, 0])
    subset = params[index]
    for name, value in vars(subset).items():
        assert torch.equal(value, getattr(params, name)[index]), name
    moved = params.to("cpu")
    assert same_params(moved, params)
    assert all(value.device.type == "meta" for value in vars(params.to("meta")).values())


def test_canvases_are_made_on_the_images_device():
    """Every index and the canvas are made where the images are (``meta``: a device without
    data, where a tensor left on the CPU fails)."""
    spec = CanvasSpec(canvas_size=12, clutter=2, clutter_size=3)
    params = sample_canvas_params(3, spec, (8, 8), 4, torch.Generator().manual_seed(0))
    images = torch.zeros(3, 2, 8, 8, dtype=torch.uint8, device="meta")
    sources = torch.zeros(4, 2, 8, 8, dtype=torch.uint8, device="meta")
    canvases = make_canvases(images, params.to("meta"), spec, sources)
    assert canvases.device.type == "meta" and canvases.shape == (3, 2, 12, 12)


def test_clutter_needs_the_sources():
    spec = CanvasSpec(canvas_size=12, clutter=1, clutter_size=3)
    images = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    params = sample_canvas_params(2, spec, (8, 8), 2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError) as err:
        make_canvases(images, params, spec)
    assert str(err.value) == "make_canvases needs the source images when clutter > 0"
    assert make_canvases(images, params, CanvasSpec(12)).shape == (2, 1, 12, 12)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (CanvasSpec(canvas_size=27), "at least the image size 28x20"),
        (CanvasSpec(canvas_size=28, clutter=-1), "clutter must be >= 0"),
        (
            CanvasSpec(canvas_size=28, clutter=1, clutter_size=21),
            r"clutter_size must be in \[1, 20\]",
        ),
        (
            CanvasSpec(canvas_size=28, clutter=1, clutter_size=0),
            r"clutter_size must be in \[1, 20\]",
        ),
    ],
)
def test_specs_that_do_not_fit_are_refused(spec, match):
    with pytest.raises(ValueError, match=match):
        spec.check((28, 20))


def test_specs_that_fit_pass():
    CanvasSpec(canvas_size=28).check((28, 20))
    CanvasSpec(canvas_size=28, clutter=1, clutter_size=20).check((28, 20))
    CanvasSpec(canvas_size=28, clutter=1, clutter_size=1).check((28, 20))  # one-pixel pieces
    CanvasSpec(canvas_size=28, clutter=0, clutter_size=99).check((28, 20))  # no clutter: no limit
