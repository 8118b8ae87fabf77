"""The supported datasets, where their files are looked for, and :func:`load_dataset`.

A dataset is loaded as an :class:`ImageDataset`: all images of a split as one ``(N, C, H, W)``
uint8 tensor plus ``(N,)`` labels, kept in memory (the largest, CIFAR-10 train, is 150 MB).

Splits are ``"train"`` and ``"test"``, optionally sliced in their stored order with Python's
syntax: ``"test[:8000]"`` is the first 8,000 test images, ``"test[8000:]"`` the rest. That pair
is the project's fixed split of the 10,000-image MNIST test set for machines without the training
files (:data:`SHARED_TRAIN_SPLIT`, :data:`SHARED_TEST_SPLIT`).

Files are looked for, in order, under the data root in torchvision's layout
(``ROOT/MNIST/raw/t10k-images-idx3-ubyte[.gz]``, ``ROOT/cifar-10-batches-py/...``,
``ROOT/SVHN/test_32x32.mat``) and in system dataset folders (Debian's ``dataset-fashion-mnist``
installs ``/usr/share/datasets/fashion-mnist``). If they are in neither, they are downloaded
through torchvision into the root when ``download=True``; if that fails too,
:class:`DatasetNotFoundError` says what was expected and how to get it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from glimpse_env.data.readers import read_cifar_batches, read_idx_pair, read_svhn_mat
from glimpse_env.data.root import ENV_VAR, DatasetNotFoundError, data_root

__all__ = [
    "DATASETS",
    "SHARED_TEST_SPLIT",
    "SHARED_TRAIN_SPLIT",
    "DatasetSpec",
    "ImageDataset",
    "load_dataset",
    "parse_split",
]

SHARED_TRAIN_SPLIT = "test[:8000]"
"""Training part of the fixed split of the 10,000-image MNIST test set (see the module doc)."""
SHARED_TEST_SPLIT = "test[8000:]"
"""Held-out part of the fixed split of the 10,000-image MNIST test set."""


@dataclass(frozen=True)
class ImageDataset:
    """Images and labels of one split, in memory.

    Attributes:
        images: ``(N, C, H, W)`` uint8.
        labels: ``(N,)`` int64 in ``[0, len(classes))``.
        classes: class names, index = label.
        name: a short description, e.g. ``"mnist:test[:8000]"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str = "custom"

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != torch.uint8:
            raise ValueError(
                f"images must be a (N, C, H, W) uint8 tensor, got {tuple(self.images.shape)} "
                f"{self.images.dtype}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must have shape (N,) = ({self.images.shape[0]},), "
                f"got {tuple(self.labels.shape)}"
            )
        if len(self.images) == 0:
            raise ValueError(f"dataset {self.name} is empty")
        if int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.classes):
            raise ValueError(f"labels must lie in [0, {len(self.classes)}), dataset {self.name}")

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class DatasetSpec:
    """How to find, read and download one dataset.

    Attributes:
        folder: sub-folder of the data root (torchvision's layout).
        files: split -> file names inside the folder (``.gz`` variants of IDX files are accepted).
        read: turns the list of found paths of a split into ``(images, labels)``.
        classes: class names.
        download: ``(folder_path, split) -> None``, torchvision's downloader for that split.
        system_dirs: extra folders with the same file names (system dataset packages).
        how_to_get: a human hint shown when the files are missing.
    """

    folder: str
    files: dict[str, tuple[str, ...]]
    read: Callable[[list[Path]], tuple[torch.Tensor, torch.Tensor]]
    classes: tuple[str, ...]
    download: Callable[[Path, str], None]
    system_dirs: tuple[str, ...] = ()
    how_to_get: str = ""


def _read_idx(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    return read_idx_pair(paths[0], paths[1])


def _torchvision_download(class_name: str) -> Callable[[Path, str], None]:
    """A downloader that asks torchvision's dataset class to fetch the files into place."""

    def download(folder: Path, split: str) -> None:
        import torchvision.datasets as tvd

        cls = getattr(tvd, class_name)
        if class_name == "SVHN":
            cls(root=str(folder), split=split, download=True)
        elif class_name == "CIFAR10":
            cls(root=str(folder.parent), train=split == "train", download=True)
        else:  # the MNIST family puts its files in ROOT/<ClassName>/raw
            cls(root=str(folder.parent.parent), train=split == "train", download=True)

    return download


_DIGITS = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")  # fmt: skip
_ONLINE = "run once with internet access (torchvision downloads it)"


def _mnist_family(
    torchvision_class: str, classes: tuple[str, ...], how_to_get: str, system_dir: str
) -> DatasetSpec:
    """MNIST and its look-alikes: four IDX files in ``ROOT/<torchvision_class>/raw``."""
    idx = lambda prefix: (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")  # noqa: E731
    return DatasetSpec(
        folder=f"{torchvision_class}/raw",
        files={"train": idx("train"), "test": idx("t10k")},
        read=_read_idx,
        classes=classes,
        download=_torchvision_download(torchvision_class),
        system_dirs=(system_dir,),
        how_to_get=how_to_get,
    )


DATASETS: dict[str, DatasetSpec] = {
    "mnist": _mnist_family(
        "MNIST",
        _DIGITS,
        f"{_ONLINE}, or copy the IDX files from http://yann.lecun.com/exdb/mnist/ into that folder",
        "/usr/share/datasets/mnist",
    ),
    "fashion": _mnist_family(
        "FashionMNIST",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        f"on Debian/Ubuntu `apt-get install dataset-fashion-mnist`, or {_ONLINE}",
        "/usr/share/datasets/fashion-mnist",
    ),
    "kmnist": _mnist_family(
        "KMNIST",
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        _ONLINE,
        "/usr/share/datasets/kmnist",
    ),
    "cifar10": DatasetSpec(
        folder="cifar-10-batches-py",
        files={"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
        read=read_cifar_batches,
        classes=(
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ),
        download=_torchvision_download("CIFAR10"),
        how_to_get=f"{_ONLINE}, or unpack cifar-10-python.tar.gz from "
        "https://www.cs.toronto.edu/~kriz/cifar.html into the root",
    ),
    "svhn": DatasetSpec(
        folder="SVHN",
        files={"train": ("train_32x32.mat",), "test": ("test_32x32.mat",)},
        read=lambda paths: read_svhn_mat(paths[0]),
        classes=_DIGITS,
        download=_torchvision_download("SVHN"),
        how_to_get=f"{_ONLINE}, or copy train_32x32.mat / test_32x32.mat from "
        "http://ufldl.stanford.edu/housenumbers/",
    ),
}

_SPLIT_RE = re.compile(r"^(train|test)(?:\[(-?\d*):(-?\d*)\])?$")


def parse_split(split: str) -> tuple[str, slice]:
    """Split a split name: ``"test[:8000]"`` -> ``("test", slice(None, 8000))``.

    >>> parse_split("test[8000:]")
    ('test', slice(8000, None, None))
    """
    match = _SPLIT_RE.match(split) if isinstance(split, str) else None
    if match is None:
        raise ValueError(
            f"split must be 'train' or 'test', optionally sliced like 'test[:8000]', got {split!r}"
        )
    base, start, stop = match.groups()
    start_i = int(start) if start else None
    stop_i = int(stop) if stop else None
    return base, slice(start_i, stop_i)


def _find_files(directory: Path, names: tuple[str, ...]) -> list[Path] | None:
    """Paths of all ``names`` in ``directory`` (each as is or gzip'd); None if any is missing."""
    found = []
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            return None
    return found


@functools.lru_cache(maxsize=8)
def _load_split(name: str, base: str, root: Path, download: bool) -> ImageDataset:
    spec = DATASETS[name]
    names = spec.files[base]
    directories = [root / spec.folder, *map(Path, spec.system_dirs)]
    for directory in directories:
        paths = _find_files(directory, names)
        if paths is not None:
            break
    else:
        error = None
        if download:
            try:
                spec.download(root / spec.folder, base)
            except Exception as err:  # network errors come in many types
                error = err
            paths = _find_files(root / spec.folder, names)
        if paths is None:
            looked = "\n".join(f"  {d}" for d in directories)
            reason = (
                f"Downloading failed: {type(error).__name__}: {error}"
                if error is not None
                else "Downloading is off (download=False)."
            )
            raise DatasetNotFoundError(
                f"Dataset {name!r} split {base!r} not found. Expected the files "
                f"{', '.join(names)} (each may be .gz) in one of:\n{looked}\n{reason}\n"
                f"To get them: {spec.how_to_get}. The data root is {root} (set it with the "
                f"{ENV_VAR} environment variable or the data_root argument)."
            )
    images, labels = spec.read(paths)
    return ImageDataset(images, labels, spec.classes, name=f"{name}:{base}")


def load_dataset(
    name: str, split: str = "train", root: str | Path | None = None, download: bool = True
) -> ImageDataset:
    """Load one split of a named dataset into memory (cached per process).

    Args:
        name: one of ``mnist``, ``fashion``, ``kmnist``, ``cifar10``, ``svhn``.
        split: ``"train"``, ``"test"``, or a slice of either such as ``"test[:8000]"``.
        root: the data root; default :func:`~glimpse_env.data.root.data_root`.
        download: fetch missing files through torchvision (needs internet).

    Returns:
        An :class:`ImageDataset` with ``(N, C, H, W)`` uint8 images.

    Raises:
        ValueError: an unknown name or a malformed split.
        DatasetNotFoundError: the files are missing and could not be downloaded.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    base, part = parse_split(split)
    full = _load_split(name, base, data_root(root).resolve(), download)
    if part == slice(None):
        return full
    images, labels = full.images[part], full.labels[part]
    if len(labels) == 0:
        raise ValueError(f"split {split!r} of {name!r} ({len(full)} images) selects no image")
    return ImageDataset(images, labels, full.classes, name=f"{name}:{split}")
