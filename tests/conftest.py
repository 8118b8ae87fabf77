"""Shared test fixtures: the offline MNIST test set, small synthetic datasets on disk, clean
global registries, and the Hypothesis settings.

``GLIMPSE_ENV_DATA`` (the shared data, which ``shared_data`` checks) defaults to
``../shared/data`` beside the checkout (the original 10,000-image MNIST test set in
torchvision's layout). ``synthetic_root`` writes tiny datasets
in every supported on-disk format, so every registered id runs through the real loading code.

Every test runs with the global registries (rewards, policy loaders, benchmark agents, gymnasium
ids, ...) as they were before it: :func:`restore_registries` snapshots them and puts them back,
so the suite passes in any order (``pytest -p randomly``). Hypothesis runs a modest number of
examples (profile ``glimpse-env``); ``HYPOTHESIS_PROFILE=thorough`` runs many more, ``mutation``
fewer and always the same.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("GLIMPSE_ENV_DATA", str(REPO.parent / "shared" / "data"))
SHARED_DATA = Path(os.environ["GLIMPSE_ENV_DATA"])
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

settings.register_profile("glimpse-env", max_examples=50, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True)
# tools/mutation.py: the same few examples every run, so a mutant's verdict does not flip.
settings.register_profile("mutation", max_examples=20, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "glimpse-env"))

GLOBAL_REGISTRIES: tuple[tuple[str, str], ...] = (
    ("glimpse_env.core.rewards", "_REGISTRY"),
    ("glimpse_env.commands.plugins", "_REGISTRY"),
    ("agents.benchmark.registry", "AGENTS"),
    ("gymnasium.envs.registration", "registry"),
)
"""``(module, attribute)`` of every module-level registry that code or tests may change
(``tests/test_registries.py`` checks that every ``register_*`` function's registry is here)."""

REGISTERING_MODULES = ("glimpse_env", "agents.benchmark.registry")
"""Modules whose import fills a registry: imported before the first snapshot, so that restoring
a snapshot never drops entries a lazy first import made during a test."""


@functools.cache
def _registries() -> list[tuple[Any, str]]:
    """The registries of :data:`GLOBAL_REGISTRIES` whose module and attribute exist."""
    for name in REGISTERING_MODULES:
        importlib.import_module(name)
    found = []
    for module_name, attribute in GLOBAL_REGISTRIES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attribute):
            found.append((module, attribute))
    return found


def _copy(value: Any) -> Any:
    """A shallow copy of a registry (a dict, list, set or an object with ``copy()``)."""
    return value.copy() if callable(getattr(value, "copy", None)) else value


def _put_back(module: Any, attribute: str, saved: Any) -> None:
    """Restore in place where possible (others may hold a reference to the registry itself)."""
    current = getattr(module, attribute)
    if isinstance(saved, dict) and isinstance(current, dict):
        current.clear()
        current.update(saved)
    elif isinstance(saved, list) and isinstance(current, list):
        current[:] = saved
    elif isinstance(saved, set) and isinstance(current, set):
        current.clear()
        current.update(saved)
    else:
        setattr(module, attribute, saved)


def snapshot_registries() -> Callable[[], None]:
    """Copy every global registry now; the returned function puts the copies back."""
    saved = [(module, name, _copy(getattr(module, name))) for module, name in _registries()]

    def restore() -> None:
        for module, attribute, value in saved:
            _put_back(module, attribute, value)

    return restore


@pytest.fixture(autouse=True)
def restore_registries() -> Iterator[None]:
    """Every global registry as it was before the test, whatever the test registered."""
    restore = snapshot_registries()
    yield
    restore()


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


STRIP_WIDTH = 4
"""Columns of the class strip in :func:`strip_root`'s images."""


def strip_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 images whose class (0 or 1) is visible in one place only.

    Mid-gray noise (128 +- 30) everywhere, except a strip of :data:`STRIP_WIDTH` columns along
    the left edge: black (class 0) or white (class 1), +- 30 of noise. Labels alternate.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = 128 + rng.uniform(-30, 30, (n, 28, 28))
    strip = np.where(labels == 1, 255, 0)[:, None, None]
    images[:, :, :STRIP_WIDTH] = strip + rng.uniform(-30, 30, (n, 28, STRIP_WIDTH))
    return images.clip(0, 255).round().astype(np.uint8), labels


@pytest.fixture(scope="session")
def strip_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root whose MNIST files (split ``train``: 960, ``test``: 512) are
    :func:`strip_images`: the class is visible in one place only, easy once seen."""
    root = tmp_path_factory.mktemp("strip")
    for prefix, n, seed in (("train", 960, 0), ("t10k", 512, 1)):
        images, labels = strip_images(n, seed)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return root


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


@pytest.fixture
def plugin_registry(monkeypatch: pytest.MonkeyPatch):
    """A fresh registry of glimpse-env agents and commands for one test: entry points are read
    anew (e.g. a dist-info the test writes), and the session's registry comes back after."""
    from glimpse_env.commands import plugins

    monkeypatch.setattr(plugins, "_REGISTRY", plugins._Registry())
    return plugins
