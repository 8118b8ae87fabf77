"""Shared test fixtures: the offline MNIST test set, and small synthetic datasets on disk.

``GLIMPSE_ENV_DATA`` defaults to ``../shared/data`` beside the checkout (the original
10,000-image MNIST test set in torchvision's layout). ``synthetic_root`` writes tiny datasets
in every supported on-disk format, so every registered id runs through the real loading code.
"""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("GLIMPSE_ENV_DATA", str(SHARED_DATA))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzip'd IDX file, MNIST's format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def synthetic_images(n: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random uint8 images of ``shape`` and labels 0..9 cycling."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), np.arange(n) % 10


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The offline MNIST root; fails loudly (not skips) if it is missing."""
    assert (SHARED_DATA / "MNIST" / "raw").is_dir(), f"missing the shared MNIST at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with 20 train + 10 test images of every dataset, in each real file format."""
    root = tmp_path_factory.mktemp("data")
    for folder in ("MNIST", "FashionMNIST", "KMNIST"):
        for prefix, n in (("train", 20), ("t10k", 10)):
            images, labels = synthetic_images(n, (28, 28), seed=n)
            write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte.gz", images)
            write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte.gz", labels)
    cifar = root / "cifar-10-batches-py"
    cifar.mkdir()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        images, labels = synthetic_images(4, (3, 32, 32), seed=100 + i)
        with open(cifar / name, "wb") as f:
            pickle.dump({"data": images.reshape(4, -1), "labels": labels.tolist()}, f)
    from scipy.io import savemat

    (root / "SVHN").mkdir()
    for split, n in (("train", 12), ("test", 6)):
        images, labels = synthetic_images(n, (32, 32, 3), seed=200 + n)
        y = labels.copy()
        y[y == 0] = 10  # SVHN stores the digit 0 as 10
        savemat(
            root / "SVHN" / f"{split}_32x32.mat",
            {"X": images.transpose(1, 2, 3, 0), "y": y[:, None]},
        )
    return root
