"""Your own images as an :class:`~glimpse_env.data.catalog.ImageDataset`, converted once.

:func:`as_image_dataset` takes what ``dataset=`` accepts besides a name:

- an :class:`ImageDataset` (returned as is);
- a pair of arrays ``(images, labels)``: images ``(N, H, W)``, ``(N, C, H, W)`` or
  ``(N, H, W, C)`` with ``C`` 1 or 3 (NumPy arrays or torch tensors), labels ``(N,)`` integers;
- any map-style dataset of ``(image, label)`` items (``len`` and ``[i]``), such as a torchvision
  ``ImageFolder``: each image a PIL image, a tensor ``(C, H, W)`` / ``(H, W)`` (torchvision's
  layout, e.g. after ``ToTensor``) or a NumPy array ``(H, W, C)`` / ``(H, W)`` (PIL's layout).

Pixels become uint8: integer images must lie in [0, 255]; float images in [0, 1] are scaled by
255 and rounded. PIL images become 8-bit grey (``L``) or RGB. A 4-dim array's channel axis is
the one of size 1 or 3 (the second or the last); when both are, torch tensors count as
channels-first and NumPy arrays as channels-last. Class names come from the dataset's
``classes`` attribute (torchvision datasets have one), else ``"0"``, ``"1"``, ...

Every image must have the same size (the batched core stacks them); mixed sizes, non-integer
labels or unreadable items raise one ValueError line naming the first offending item.

>>> import numpy as np
>>> images = np.zeros((5, 12, 12, 3), dtype=np.uint8)  # channels last, as PIL
>>> data = as_image_dataset((images, np.array([0, 1, 1, 0, 2])))
>>> tuple(data.images.shape), data.classes
((5, 3, 12, 12), ('0', '1', '2'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from glimpse_env.data.catalog import ImageDataset

__all__ = ["as_image_dataset"]


def as_image_dataset(source: Any, classes: Sequence[str] | None = None) -> ImageDataset:
    """``source`` (see the module doc) as an ``ImageDataset`` of ``(N, C, H, W)`` uint8 images.

    Args:
        source: an ImageDataset, a pair ``(images, labels)`` of arrays, or a map-style dataset of
            ``(image, label)`` items.
        classes: class names (default: ``source.classes`` if it has them, else ``"0"``, ...).

    Raises:
        ValueError: an unsupported source, mixed image sizes, non-integer or negative labels,
            images that are not 8-bit or [0, 1] pixels, or an empty dataset.
    """
    if isinstance(source, ImageDataset):
        return source
    name = f"custom:{type(source).__name__}"
    if _is_array_pair(source):
        images, labels = _images_batch(source[0]), _labels(source[1], len(source[0]))
    elif hasattr(source, "__len__") and hasattr(source, "__getitem__"):
        images, labels = _from_items(source)
    else:
        raise ValueError(
            "dataset must be a name, an ImageDataset, a pair (images, labels) of arrays or a "
            f"map-style dataset of (image, label) items, got {type(source).__name__}"
        )
    if classes is None:
        classes = getattr(source, "classes", None)
    if classes is None:
        classes = [str(i) for i in range(int(labels.max()) + 1)]
    classes = tuple(str(c) for c in classes)
    if int(labels.max()) >= len(classes):
        raise ValueError(f"labels must lie in [0, {len(classes)}), got {int(labels.max())}")
    return ImageDataset(images, labels, classes, name=name)


def _is_array_pair(source: Any) -> bool:
    arrays = (np.ndarray, torch.Tensor)
    return (
        isinstance(source, (tuple, list))
        and len(source) == 2
        and isinstance(source[0], arrays)
        and np.ndim(source[0]) >= 3
    )


def _to_uint8(pixels: np.ndarray, what: str) -> np.ndarray:
    """Integer pixels in [0, 255] or float pixels in [0, 1] as uint8."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.bool_ or pixels.dtype.kind not in "iuf":
        raise ValueError(f"{what} must hold numbers, got dtype {pixels.dtype}")
    if pixels.size and pixels.dtype.kind == "f":
        low, high = float(np.min(pixels)), float(np.max(pixels))
        if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low and high <= 1.0):
            raise ValueError(
                f"{what}: float pixels must lie in [0, 1], got [{low:g}, {high:g}] "
                "(give uint8 images for 0..255)"
            )
        return np.rint(pixels * 255.0).astype(np.uint8)
    if pixels.size and (int(np.min(pixels)) < 0 or int(np.max(pixels)) > 255):
        raise ValueError(
            f"{what}: integer pixels must lie in [0, 255], got "
            f"[{int(np.min(pixels))}, {int(np.max(pixels))}]"
        )
    return pixels.astype(np.uint8)


def _images_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)`` -> ``(N, C, H, W)`` uint8."""
    channels_first = isinstance(images, torch.Tensor)
    array = images.detach().cpu().numpy() if channels_first else np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        first, last = array.shape[1] in (1, 3), array.shape[3] in (1, 3)
        if last and not (first and channels_first):
            array = array.transpose(0, 3, 1, 2)
        elif not first:
            raise ValueError(
                "images (N, C, H, W) or (N, H, W, C) need C = 1 or 3 channels, got shape "
                f"{array.shape}"
            )
    else:
        raise ValueError(
            f"images must be (N, H, W), (N, C, H, W) or (N, H, W, C), got shape {array.shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(_to_uint8(array, "images")))


def _labels(labels: Any, count: int) -> torch.Tensor:
    """``(N,)`` integer labels >= 0 as int64."""
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels
    array = np.asarray(array)
    if array.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {array.dtype}")
    if array.shape != (count,):
        raise ValueError(f"labels must have shape ({count},), got {array.shape}")
    if count and int(array.min()) < 0:
        raise ValueError(f"labels must be >= 0, got {int(array.min())}")
    return torch.from_numpy(array.astype(np.int64))


def _image_array(image: Any, index: int) -> np.ndarray:
    """One item's image as ``(C, H, W)`` uint8."""
    what = f"item {index}'s image"
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
        if array.ndim == 2:
            array = array[None]
    elif hasattr(image, "mode") and hasattr(image, "convert"):  # a PIL image
        grey = image.mode in ("1", "L", "LA", "I", "I;16", "F")
        array = np.asarray(image.convert("L" if grey else "RGB"))
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    else:
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[None]
        elif array.ndim == 3:
            array = array.transpose(2, 0, 1)
    if array.ndim != 3 or array.shape[0] not in (1, 3):
        raise ValueError(
            f"{what} must be a PIL image, a tensor (C, H, W) or an array (H, W, C) with C = 1 "
            f"or 3, got shape {array.shape}"
        )
    return _to_uint8(array, what)


def _item_label(label: Any, index: int) -> int:
    value = label
    if isinstance(label, (torch.Tensor, np.ndarray)) and np.ndim(label) == 0:
        value = label.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"labels must be integers, got {value!r} ({type(value).__name__}) at item {index}"
        )
    if value < 0:
        raise ValueError(f"labels must be >= 0, got {value} at item {index}")
    return int(value)


def _from_items(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``(image, label)`` item read once into ``(N, C, H, W)`` uint8 and ``(N,)`` int64."""
    count = len(dataset)
    if count == 0:
        raise ValueError(f"dataset {type(dataset).__name__} is empty")
    images: np.ndarray | None = None
    labels = np.empty(count, dtype=np.int64)
    for i in range(count):
        item = dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                f"items must be (image, label) pairs, got {type(item).__name__} at item {i}"
            )
        image = _image_array(item[0], i)
        if images is None:
            images = np.empty((count, *image.shape), dtype=np.uint8)
        elif image.shape != images.shape[1:]:
            raise ValueError(
                f"all images must have one size: item 0 is {images.shape[1:]}, item {i} is "
                f"{image.shape} (resize them first, e.g. torchvision.transforms.Resize)"
            )
        images[i] = image
        labels[i] = _item_label(item[1], i)
    assert images is not None
    return torch.from_numpy(images), torch.from_numpy(labels)
