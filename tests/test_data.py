"""Datasets from disk, the data root and its errors, and translated/cluttered canvases."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from glimpse_env.data import (
    CanvasSpec,
    DatasetNotFoundError,
    ImageDataset,
    as_image_dataset,
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


# ------------------------------------------------------------------ your own images


def write_image_folder(root, images: np.ndarray, labels: np.ndarray, names=("cat", "dog", "owl")):
    """``images (N, H, W)`` uint8 as grey PNGs in torchvision's ImageFolder layout."""
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{i:03d}.png")


@pytest.fixture
def folder_images(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 10, 12), dtype=np.uint8)
    labels = np.array([0, 0, 1, 1, 2, 2])  # ImageFolder sorts by class, then by file name
    write_image_folder(tmp_path, images, labels)
    return tmp_path, images, labels


def test_an_image_folder_of_pil_images_converts_once(folder_images):
    from torchvision.datasets import ImageFolder

    root, images, labels = folder_images
    data = as_image_dataset(ImageFolder(str(root)))  # RGB PIL images (ImageFolder's loader)
    assert data.images.shape == (6, 3, 10, 12) and data.images.dtype == torch.uint8
    assert data.classes == ("cat", "dog", "owl") and data.labels.tolist() == labels.tolist()
    for c in range(3):
        assert torch.equal(data.images[:, c], torch.from_numpy(images))


def test_an_image_folder_of_tensors_gives_the_same_pixels(folder_images):
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import ToTensor

    root, images, _ = folder_images
    grey = ImageFolder(str(root), transform=ToTensor(), loader=lambda p: Image.open(p).copy())
    data = as_image_dataset(grey)  # (1, H, W) float tensors in [0, 1]
    assert torch.equal(data.images[:, 0], torch.from_numpy(images))


def test_the_env_takes_an_image_folder_and_its_labels(folder_images):
    from torchvision.datasets import ImageFolder

    root, _, labels = folder_images
    env = gym.make("GlimpseEnv-v0", dataset=ImageFolder(str(root)), patch_size=4, num_glimpses=2)
    assert env.action_space["logits"].shape == (3,)
    assert env.unwrapped.classes == ("cat", "dog", "owl")
    for index in range(6):
        _, info = env.reset(seed=index, options={"index": index})
        assert info["label"] == labels[index]


LAYOUTS = ["numpy NHW", "numpy NHWC", "torch NCHW", "torch NHW", "items torch CHW",
           "items numpy HWC"]  # fmt: skip
PIXEL_DTYPES = ["uint8", "int16", "int64", "float32", "float64"]


@st.composite
def own_images(draw):
    """Reference uint8 images ``(N, C, H, W)``, labels, and the same data in some input form."""
    layout = draw(st.sampled_from(LAYOUTS))
    channels = 1 if layout.endswith("NHW") else draw(st.sampled_from([1, 3]))
    shape = (draw(st.integers(1, 4)), channels, draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    seed = draw(st.integers(0, 2**16))
    reference = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    labels = draw(st.lists(st.integers(0, 5), min_size=shape[0], max_size=shape[0]))
    label_dtype = draw(st.sampled_from(["int8", "uint8", "int32", "int64"]))
    labels = np.array(labels, dtype=label_dtype)
    dtype = draw(st.sampled_from(PIXEL_DTYPES))
    pixels = reference.astype(dtype)
    if dtype.startswith("float"):  # [0, 1], a little off the exact k / 255: rounded, not cut
        jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, shape)
        pixels = np.clip((reference + jitter) / 255.0, 0.0, 1.0).astype(dtype)
    if layout == "numpy NHW":
        source = (pixels[:, 0], labels)
    elif layout == "numpy NHWC":
        source = (pixels.transpose(0, 2, 3, 1), labels)
    elif layout == "torch NCHW":
        source = (torch.from_numpy(pixels), torch.from_numpy(labels.astype(np.int64)))
    elif layout == "torch NHW":
        source = (torch.from_numpy(pixels[:, 0]), labels)
    elif layout == "items torch CHW":
        pairs = zip(pixels, labels, strict=True)
        source = [(torch.from_numpy(p), torch.tensor(int(y))) for p, y in pairs]
    else:
        pairs = zip(pixels, labels, strict=True)  # np.integer labels
        source = [(p.transpose(1, 2, 0), y) for p, y in pairs]
    return source, reference, labels


@given(own_images())
def test_every_input_form_converts_to_the_same_uint8_images(case):
    source, reference, labels = case
    data = as_image_dataset(source)
    assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
    assert torch.equal(data.images, torch.from_numpy(reference))
    assert data.labels.tolist() == labels.tolist()
    assert data.classes == tuple(str(i) for i in range(int(labels.max()) + 1))


@given(
    st.sampled_from(["float16", "float32", "float64", "bool"]),
    st.integers(1, 5),
)
def test_labels_that_are_not_integers_are_refused(dtype, count):
    images = np.zeros((count, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match=f"labels must be integers, got dtype {dtype}"):
        as_image_dataset((images, np.zeros(count, dtype=dtype)))


def pil(size):
    return Image.new("L", size)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ([(pil((8, 8)), 0), (pil((8, 8)), 1), (pil((9, 8)), 0)],
         r"one size: item 0 is \(1, 8, 8\), item 2 is \(1, 8, 9\)"),
        ([(np.zeros((4, 4), np.uint8), "cat")], r"integers, got 'cat' \(str\) at item 0"),
        ([(np.zeros((4, 4), np.uint8), 1.0)], "integers, got 1.0 .* at item 0"),
        ([(np.zeros((4, 4), np.uint8), True)], "integers, got True .* at item 0"),
        ([(np.zeros((4, 4), np.uint8), -1)], "labels must be >= 0, got -1 at item 0"),
        ((np.zeros((2, 4, 4)), np.array([0, -2])), "labels must be >= 0"),
        ((np.full((2, 4, 4), 1.5), np.array([0, 1])), r"float pixels must lie in \[0, 1\]"),
        ((np.full((2, 4, 4), 300), np.array([0, 1])), r"integer pixels must lie in \[0, 255\]"),
        ((np.zeros((2, 5, 4, 4), np.uint8), np.array([0, 1])), "C = 1 or 3 channels"),
        ((np.zeros((2, 4, 4), np.uint8), np.array([0, 1, 2])), r"labels must have shape \(2,\)"),
        ([], "is empty"),
        ([np.zeros((4, 4))], r"\(image, label\) pairs, got ndarray at item 0"),
        (42, "dataset must be a name, an ImageDataset, a pair"),
    ],
)  # fmt: skip
def test_bad_own_data_is_one_clear_line(source, message):
    with pytest.raises(ValueError, match=message) as err:
        as_image_dataset(source)
    assert "\n" not in str(err.value)


def test_the_env_refuses_bad_own_data_at_construction():
    mixed = [(np.zeros((8, 8), np.uint8), 0), (np.zeros((8, 9), np.uint8), 1)]
    with pytest.raises(ValueError, match="all images must have one size"):
        gym.make("GlimpseEnv-v0", dataset=mixed)


def test_the_own_dataset_example_runs(capsys):
    import runpy
    from pathlib import Path

    runpy.run_path(str(Path(__file__).parents[1] / "examples" / "own_dataset.py"))
    out = capsys.readouterr().out
    assert "ImageFolder: 60 images" in out and "converted: (60, 1, 32, 32)" in out
