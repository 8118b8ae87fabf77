"""Building the batched core and starting episodes: what the config reaches, and bad input."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import SHARED_DATA

from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.sensor import extract_glimpses
from glimpse_env.data.canvas import CanvasSpec
from glimpse_env.data.catalog import ImageDataset


def make_core(**changes) -> GlimpseCore:
    """A core over 6 random 12x12 images of 3 classes, 3 glimpses of 4x4."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 1, 12, 12), generator=g).to(torch.uint8)
    data = ImageDataset(images, torch.arange(6) % 3, classes=("a", "b", "c"), name="toy")
    kwargs = {"dataset": data, "num_glimpses": 3, "patch_size": 4} | changes
    return GlimpseCore(GlimpseConfig(**kwargs))


def test_reset_needs_a_batch_size_or_an_index():
    with pytest.raises(ValueError) as err:
        make_core().reset(torch.Generator())
    assert str(err.value) == "reset needs batch_size or index"


@pytest.mark.parametrize(
    "index",
    [[0, 6], [-1, 2], [[0, 1]], torch.tensor([[0], [1]])],
    ids=["past", "negative", "2-D", "column"],
)
def test_indices_outside_the_split_or_not_a_row_are_refused(index):
    with pytest.raises(
        ValueError, match=re.escape("index must be a (B,) tensor of ints in [0, 6)")
    ):
        make_core().reset(torch.Generator(), index=index)


def test_given_indices_start_those_images_as_int64():
    core = make_core()
    state = core.reset(torch.Generator(), index=torch.tensor([5, 0], dtype=torch.int32))
    assert state.index.dtype == torch.int64 and state.index.tolist() == [5, 0]
    assert state.label.tolist() == [2, 0]


def test_the_config_reaches_the_canvases_and_the_sensor():
    core = make_core(canvas_size=20, clutter=2, clutter_size=5, scale_factor=3, num_scales=2)
    assert core.canvas_spec == CanvasSpec(canvas_size=20, clutter=2, clutter_size=5)
    assert core.dataset_name == "toy" and core.device == torch.device("cpu")
    state = core.reset(torch.Generator().manual_seed(0), batch_size=2)
    expected = extract_glimpses(state.canvas, state.location, 4, num_scales=2, scale_factor=3)
    assert torch.equal(state.glimpse, expected)


def test_a_named_dataset_is_read_from_the_configured_root(monkeypatch):
    monkeypatch.delenv("GLIMPSE_ENV_DATA", raising=False)  # only data_root says where
    core = GlimpseCore(GlimpseConfig(split="test[:10]", data_root=str(SHARED_DATA)))
    assert core.dataset_name == "mnist:test[:10]" and core.num_images == 10
