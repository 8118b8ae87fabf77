"""Readers for the on-disk formats of the supported datasets, returning uint8 tensors.

Each reader takes file paths and returns ``(images, labels)``: images ``(N, C, H, W)`` uint8,
labels ``(N,)`` int64. They check structure, not checksums, so that test data written in the
same format goes through the same code path as the real files.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import torch

__all__ = ["read_cifar_batches", "read_idx", "read_idx_pair", "read_svhn_mat"]

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzip-compressed (``.gz``) or not."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=_IDX_DTYPES[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {array.size} values")
    return array.reshape(shape)


def read_idx_pair(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 1, H, W)`` uint8 and labels ``(N,)`` int64 from two IDX files."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"expected images (N, H, W) and labels (N,), got {images.shape} from {images_path} "
            f"and {labels.shape} from {labels_path}"
        )
    return (
        torch.from_numpy(images.astype(np.uint8)[:, None].copy()),
        torch.from_numpy(labels.astype(np.int64)),
    )


def read_cifar_batches(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 python batches (pickles with ``data`` (N, 3072) and ``labels``) concatenated."""
    images, labels = [], []
    for path in paths:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        data = np.asarray(batch["data"], dtype=np.uint8)
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))


def read_svhn_mat(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """SVHN's cropped-digit ``.mat``: ``X`` (32, 32, 3, N), ``y`` (N, 1) with 10 for digit 0."""
    try:
        from scipy.io import loadmat
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("reading SVHN needs scipy: pip install 'glimpse-env[svhn]'") from err
    mat = loadmat(path)
    images = np.transpose(mat["X"], (3, 2, 0, 1)).astype(np.uint8)
    labels = mat["y"].astype(np.int64).reshape(-1) % 10
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)
