"""Datasets from disk, the data root and its errors, and translated/cluttered canvases."""

from __future__ import annotations

import pytest
import torch

from glimpse_env.data import (
    CanvasSpec,
    DatasetNotFoundError,
    ImageDataset,
    catalog,
    data_root,
    load_dataset,
    make_canvases,
    sample_canvas_params,
)
from glimpse_env.data.catalog import parse_split


def test_shared_mnist_test_set_loads(shared_data):
    data = load_dataset("mnist", "test", root=shared_data, download=False)
    assert data.images.shape == (10_000, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # MNIST's first labels
    assert int(data.images.max()) == 255 and torch.bincount(data.labels).tolist()[0] == 980


def test_split_slices_partition_the_test_set(shared_data):
    train = load_dataset("mnist", "test[:8000]", root=shared_data, download=False)
    test = load_dataset("mnist", "test[8000:]", root=shared_data, download=False)
    full = load_dataset("mnist", "test", root=shared_data, download=False)
    assert len(train) == 8000 and len(test) == 2000
    assert torch.equal(torch.cat([train.images, test.images]), full.images)


@pytest.mark.parametrize("bad", ["validation", "test[a:b]", "train[:0]x", 3])
def test_bad_split_names_say_what_is_expected(bad):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        parse_split(bad)


def test_empty_slice_is_refused(shared_data):
    with pytest.raises(ValueError, match="selects no image"):
        load_dataset("mnist", "test[5:5]", root=shared_data, download=False)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="known datasets: mnist, fashion"):
        load_dataset("imagenet")


def test_missing_files_name_root_files_and_remedy(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("kmnist", "train", root=tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "KMNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert "GLIMPSE_ENV_DATA" in message and "internet" in message


def test_failed_download_reports_the_network_error(tmp_path, monkeypatch):
    def offline(folder, split):
        raise OSError("Name or service not known")

    spec = catalog.DATASETS["mnist"]
    monkeypatch.setitem(
        catalog.DATASETS, "mnist", catalog.DatasetSpec(**{**vars(spec), "download": offline})
    )
    with pytest.raises(DatasetNotFoundError, match="Downloading failed: OSError: Name or service"):
        load_dataset("mnist", "train", root=tmp_path / "empty", download=True)


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("GLIMPSE_ENV_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("/elsewhere") != tmp_path
    monkeypatch.delenv("GLIMPSE_ENV_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root() == tmp_path / "cache" / "glimpse-env"


@pytest.mark.parametrize(
    ("name", "shape", "train", "test"),
    [
        ("mnist", (1, 28, 28), 20, 10),
        ("fashion", (1, 28, 28), 20, 10),
        ("kmnist", (1, 28, 28), 20, 10),
        ("cifar10", (3, 32, 32), 20, 4),
        ("svhn", (3, 32, 32), 12, 6),
    ],
)
def test_every_format_reads_through_the_same_path(synthetic_root, name, shape, train, test):
    for split, n in (("train", train), ("test", test)):
        data = load_dataset(name, split, root=synthetic_root, download=False)
        assert data.images.shape == (n, *shape)
        assert data.labels.tolist() == [i % 10 for i in range(n)] or name == "cifar10"
        assert len(data.classes) == 10


def test_image_dataset_checks_its_arrays():
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long), ("a",))
    with pytest.raises(ValueError, match="labels must lie"):
        ImageDataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 3]), ("a", "b"))


# ------------------------------------------------------------------ canvases


def digit_batch(n: int = 6) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.randint(1, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=gen)


def test_translated_canvas_holds_the_image_at_its_offset():
    images = digit_batch()
    spec = CanvasSpec(60)
    params = sample_canvas_params(6, spec, (28, 28), 6, torch.Generator().manual_seed(0))
    canvases = make_canvases(images, params, spec)
    assert canvases.shape == (6, 1, 60, 60) and canvases.dtype == torch.uint8
    for b in range(6):
        r, c = params.offset[b].tolist()
        assert torch.equal(canvases[b, :, r : r + 28, c : c + 28], images[b])
        assert int(canvases[b].sum()) == int(images[b].sum())  # nothing else on the canvas


def test_clutter_pieces_come_from_their_sources():
    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    sources = digit_batch(10)
    spec = CanvasSpec(60, clutter=3, clutter_size=8)
    params = sample_canvas_params(4, spec, (28, 28), 10, torch.Generator().manual_seed(3))
    canvases = make_canvases(images, params, spec, sources)
    for b in range(4):
        expected = torch.zeros(1, 60, 60, dtype=torch.uint8)
        for k in range(3):
            src = sources[params.clutter_source[b, k]]
            (sr, sc), (tr, tc) = (
                params.clutter_crop[b, k].tolist(),
                params.clutter_offset[b, k].tolist(),
            )
            piece = src[:, sr : sr + 8, sc : sc + 8]
            region = expected[:, tr : tr + 8, tc : tc + 8]
            expected[:, tr : tr + 8, tc : tc + 8] = torch.maximum(region, piece)
        assert torch.equal(canvases[b], expected)


def test_canvases_are_deterministic_from_the_seed():
    spec = CanvasSpec(100, clutter=8)
    sources = digit_batch(10)

    def make(seed):
        return make_canvases(
            sources[:5],
            sample_canvas_params(5, spec, (28, 28), 10, torch.Generator().manual_seed(seed)),
            spec,
            sources,
        )

    assert torch.equal(make(7), make(7))
    assert not torch.equal(make(7), make(8))


def test_canvas_spec_checks_sizes():
    with pytest.raises(ValueError, match="canvas_size must be at least"):
        CanvasSpec(20).check((28, 28))
    with pytest.raises(ValueError, match="clutter_size"):
        CanvasSpec(60, clutter=2, clutter_size=40).check((28, 28))
