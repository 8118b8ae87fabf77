"""Translated and cluttered canvases (Mnih et al. 2014), made in batches.

A canvas is a ``canvas_size x canvas_size`` black image with the source image pasted at a random
position and, for cluttered canvases, ``clutter`` pieces of ``clutter_size x clutter_size`` cut
from other random images of the same split, pasted at random positions. Overlaps keep the brighter
pixel (per-pixel maximum), so canvases stay ``uint8``.

Everything random about a canvas is in :class:`CanvasParams`, sampled for a whole batch at once
from an explicit ``torch.Generator`` (:func:`sample_canvas_params`); :func:`make_canvases` is then
a deterministic function of the images and the parameters, built with a few scatters and gathers
(no Python loop over the batch). For a fixed evaluation set, sample the parameters of every image
of a split once from a fixed seed and index them per episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CanvasParams", "CanvasSpec", "make_canvases", "sample_canvas_params"]


@dataclass(frozen=True)
class CanvasSpec:
    """The shape of the canvases: side, number of clutter pieces and their side (pixels)."""

    canvas_size: int
    clutter: int = 0
    clutter_size: int = 8

    def check(self, image_size: tuple[int, int]) -> None:
        """Raise ValueError unless images of ``image_size`` (H, W) and the clutter fit."""
        height, width = image_size
        if self.canvas_size < max(height, width):
            raise ValueError(
                f"canvas_size must be at least the image size {height}x{width}, "
                f"got {self.canvas_size}"
            )
        if self.clutter < 0:
            raise ValueError(f"clutter must be >= 0 pieces, got {self.clutter}")
        if self.clutter and not 1 <= self.clutter_size <= min(height, width):
            raise ValueError(
                f"clutter_size must be in [1, {min(height, width)}] for {height}x{width} images, "
                f"got {self.clutter_size}"
            )


@dataclass(frozen=True)
class CanvasParams:
    """Everything random about a batch of ``B`` canvases with ``K`` clutter pieces each.

    Attributes:
        offset: ``(B, 2)`` int64, (row, col) of the image's top-left corner on the canvas.
        clutter_source: ``(B, K)`` int64, dataset index of the image each piece is cut from.
        clutter_crop: ``(B, K, 2)`` int64, (row, col) of each piece inside its source image.
        clutter_offset: ``(B, K, 2)`` int64, (row, col) of each piece on the canvas.
    """

    offset: torch.Tensor
    clutter_source: torch.Tensor
    clutter_crop: torch.Tensor
    clutter_offset: torch.Tensor

    def __getitem__(self, index: torch.Tensor) -> CanvasParams:
        """The parameters of a subset of the batch (``index`` as for tensor indexing)."""
        return CanvasParams(
            self.offset[index],
            self.clutter_source[index],
            self.clutter_crop[index],
            self.clutter_offset[index],
        )

    def to(self, device: torch.device | str) -> CanvasParams:
        return CanvasParams(*(t.to(device) for t in vars(self).values()))


def _randint(high: int, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, high, shape, generator=generator, device=generator.device)


def sample_canvas_params(
    batch: int,
    spec: CanvasSpec,
    image_size: tuple[int, int],
    num_sources: int,
    generator: torch.Generator,
) -> CanvasParams:
    """Draw canvas parameters for ``batch`` canvases (uniform positions, uniform sources).

    Args:
        batch: ``B``.
        spec: canvas and clutter sizes.
        image_size: the source images' ``(H, W)``.
        num_sources: how many images clutter may be cut from (the split's size).
        generator: the RNG; the result is a deterministic function of its state.
    """
    height, width = image_size
    c, k = spec.clutter_size, spec.clutter
    free = spec.canvas_size - max(height, width) + 1
    offset = _randint(free, (batch, 2), generator)
    clutter_source = _randint(num_sources, (batch, k), generator)
    crop_row = _randint(height - c + 1, (batch, k, 1), generator)
    crop_col = _randint(width - c + 1, (batch, k, 1), generator)
    clutter_offset = _randint(spec.canvas_size - c + 1, (batch, k, 2), generator)
    return CanvasParams(offset, clutter_source, torch.cat([crop_row, crop_col], 2), clutter_offset)


def _paste_index(
    top_left: torch.Tensor, height: int, width: int, canvas_width: int
) -> torch.Tensor:
    """Flat canvas indices of ``height x width`` blocks at ``top_left`` (..., 2) -> (..., h*w)."""
    device = top_left.device
    rows = top_left[..., 0:1] + torch.arange(height, device=device)  # (..., h)
    cols = top_left[..., 1:2] + torch.arange(width, device=device)  # (..., w)
    return (rows[..., :, None] * canvas_width + cols[..., None, :]).flatten(-2)


def make_canvases(
    images: torch.Tensor,
    params: CanvasParams,
    spec: CanvasSpec,
    sources: torch.Tensor | None = None,
) -> torch.Tensor:
    """Paste images (and clutter) onto black canvases.

    Args:
        images: ``(B, C, H, W)`` uint8, the images to classify.
        params: from :func:`sample_canvas_params` (same ``B``).
        spec: canvas and clutter sizes.
        sources: ``(N, C, H, W)`` uint8, the images clutter is cut from (the whole split); only
            needed when ``spec.clutter > 0``.

    Returns:
        ``(B, C, canvas_size, canvas_size)`` uint8.
    """
    batch, channels, height, width = images.shape
    side = spec.canvas_size
    canvas = torch.zeros(batch, channels, side * side, dtype=images.dtype, device=images.device)
    if spec.clutter:
        if sources is None:
            raise ValueError("make_canvases needs the source images when clutter > 0")
        c, k = spec.clutter_size, spec.clutter
        # Gather only the pieces' pixels from the sources, as flat indices into (N, C, H*W):
        # (B, C, K, c*c), without copying whole source images.
        crop_index = _paste_index(params.clutter_crop, c, c, width)  # (B, K, c*c)
        plane = torch.arange(channels, device=images.device)[None, :, None, None] * (height * width)
        start = params.clutter_source[:, None, :, None] * (channels * height * width)
        pieces = sources.reshape(-1)[start + plane + crop_index[:, None]]
        pieces = pieces.reshape(batch, channels, k * c * c)
        target = _paste_index(params.clutter_offset, c, c, side)  # (B, K, c*c)
        target = target[:, None].expand(-1, channels, -1, -1).reshape(batch, channels, k * c * c)
        canvas.scatter_reduce_(2, target, pieces, reduce="amax")
    target = _paste_index(params.offset, height, width, side)  # (B, H*W)
    target = target[:, None].expand(-1, channels, -1)
    canvas.scatter_reduce_(2, target, images.flatten(2), reduce="amax")
    return canvas.view(batch, channels, side, side)
