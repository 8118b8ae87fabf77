"""The glimpse sensor: the one place where glimpses are cut from images.

A glimpse at location ``(x, y)`` in ``[-1, 1]^2`` is ``S`` concentric squares centred on that point,
of sides ``P, P*k, P*k^2, ...``, each reduced to ``P x P`` by area averaging (every output pixel is
the mean of a ``k^s x k^s`` block), with zeros outside the image. ``(-1, -1)`` is the top-left
corner of the image and ``(1, 1)`` the bottom-right; ``x`` is the column, ``y`` the row.

Pixel geometry: the centre of location ``(x, y)`` on an ``H x W`` image is the point
``((x + 1) / 2 * W, (y + 1) / 2 * H)`` in pixel-edge coordinates, and a square of side ``L`` starts
at ``round(centre - L / 2)`` (halves round up). A 28x28 image at location ``(0, 0)`` with ``P = 8``
covers rows and columns ``10..17``.

Speed: an episode's image is fixed for all of its glimpses, so the work is split in two.
:func:`integral_image` builds a summed-area table once per episode (two cumulative sums), and
:func:`glimpse_from_integral` turns each glimpse into one gather of ``(P+1)^2`` corners per scale
and channel plus three subtractions: no Python loop over the batch or the scales, and a cost per
glimpse that does not depend on the image size or on the scale. Integer images (``uint8``) give an
exact integer table, so glimpses are exact; float images use a float64 table.

:func:`extract_glimpses` does both steps for one-off use. :func:`reference_glimpses` is the slow,
obvious implementation (crop each image in a Python loop, then average-pool) that the tests use
as an oracle and the benchmarks as the reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "extract_glimpses",
    "glimpse_from_integral",
    "integral_image",
    "reference_glimpses",
    "square_starts",
]


def _check_geometry(patch_size: int, num_scales: int, scale_factor: int) -> None:
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int, got {patch_size!r}")
    if not isinstance(num_scales, int) or num_scales < 1:
        raise ValueError(f"num_scales must be a positive int, got {num_scales!r}")
    if not isinstance(scale_factor, int) or scale_factor < 1:
        raise ValueError(
            f"scale_factor must be a positive int (each scale averages k^s x k^s blocks), "
            f"got {scale_factor!r}"
        )


def _check_locations(locations: torch.Tensor, batch: int) -> None:
    if locations.ndim != 2 or locations.shape != (batch, 2):
        raise ValueError(
            f"locations must have shape (B, 2) = ({batch}, 2), got {tuple(locations.shape)}"
        )


def integral_image(images: torch.Tensor) -> torch.Tensor:
    """Summed-area table of a batch of images, zero-padded on the top and left.

    Args:
        images: ``(B, C, H, W)``; ``uint8`` (pixel values 0..255) or floating point.

    Returns:
        ``(B, C, H+1, W+1)`` where entry ``[b, c, i, j]`` is the sum of ``images[b, c, :i, :j]``.
        ``int32``/``int64`` for integer images (exact), ``float64`` for float images. For
        ``uint8`` images the sums are of the raw 0..255 values; :func:`glimpse_from_integral`
        rescales to [0, 1].
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
    if images.is_floating_point():
        dtype = torch.float64
    else:
        # int32 is exact while the largest sum fits (255 * H * W < 2^31) and is about twice as
        # fast as int64 to build and to gather from.
        height, width = images.shape[-2:]
        dtype = torch.int32 if 255 * height * width < 2**31 else torch.int64
    # Padding the image (one byte a pixel) rather than the table, and summing in place, makes
    # this about 3x faster than cumsum-then-pad; a zero first row and column sum to zero.
    table = F.pad(images, (1, 0, 1, 0)).to(dtype)
    return table.cumsum_(dim=3).cumsum_(dim=2)


def square_starts(
    locations: torch.Tensor, size: tuple[int, int], side: int | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left pixel (row, column) of squares of ``side`` pixels centred at ``locations``.

    Args:
        locations: ``(B, 2)`` float, ``(x, y)`` in ``[-1, 1]``.
        size: the image's ``(H, W)``.
        side: the square's side in pixels: an int, or a ``(S,)`` tensor of sides.

    Returns:
        ``(rows, cols)``, each ``(B,)`` int64 (or ``(B, S)`` for a tensor of sides). May be
        negative or past the image: the parts of a square outside the image read as zero.
    """
    height, width = size
    loc = locations.to(torch.float64)
    side = torch.as_tensor(side, dtype=torch.float64, device=loc.device)
    centre_col = (loc[:, 0] + 1.0) * (width / 2.0)
    centre_row = (loc[:, 1] + 1.0) * (height / 2.0)
    if side.ndim == 1:
        centre_col, centre_row = centre_col[:, None], centre_row[:, None]
    cols = torch.floor(centre_col - side / 2.0 + 0.5).long()
    rows = torch.floor(centre_row - side / 2.0 + 0.5).long()
    return rows, cols


def glimpse_from_integral(
    table: torch.Tensor,
    locations: torch.Tensor,
    patch_size: int,
    num_scales: int = 1,
    scale_factor: int = 2,
    *,
    normalize: float | None = None,
) -> torch.Tensor:
    """Cut glimpses from precomputed summed-area tables.

    Args:
        table: ``(B, C, H+1, W+1)`` from :func:`integral_image`.
        locations: ``(B, 2)`` glimpse centres ``(x, y)`` in ``[-1, 1]``.
        patch_size: ``P``, the side of every returned patch.
        num_scales: ``S``, the number of concentric squares.
        scale_factor: ``k``, the ratio of consecutive squares' sides (an int).
        normalize: value that maps to 1.0; default 255 for integer tables, 1 for float tables.

    Returns:
        ``(B, S*C, P, P)`` float32: channel ``s*C + c`` is scale ``s`` (side ``P*k^s``) of channel
        ``c``.
    """
    _check_geometry(patch_size, num_scales, scale_factor)
    batch, channels, height1, width1 = table.shape
    height, width = height1 - 1, width1 - 1
    _check_locations(locations, batch)
    device = table.device
    # (S,) block side of each scale, made on the device (no host-to-device copy per glimpse)
    blocks = scale_factor ** torch.arange(num_scales, dtype=torch.int64, device=device)
    rows, cols = square_starts(locations.to(device), (height, width), blocks * patch_size)
    steps = torch.arange(patch_size + 1, device=device)  # (P+1,)
    # Block boundaries of every scale, clamped into the table: clamping makes the out-of-image
    # part of a block sum to zero, and dividing by the full block area gives zero padding.
    row_edges = (rows[:, :, None] + steps * blocks[:, None]).clamp_(0, height)  # (B, S, P+1)
    col_edges = (cols[:, :, None] + steps * blocks[:, None]).clamp_(0, width)  # (B, S, P+1)
    flat_index = row_edges[:, :, :, None] * width1 + col_edges[:, :, None, :]  # (B, S, P+1, P+1)
    flat_index = flat_index.reshape(batch, 1, -1).expand(batch, channels, -1)
    corners = table.reshape(batch, channels, -1).gather(2, flat_index)
    corners = corners.reshape(batch, channels, num_scales, patch_size + 1, patch_size + 1)
    sums = (
        corners[..., 1:, 1:]
        - corners[..., :-1, 1:]
        - corners[..., 1:, :-1]
        + corners[..., :-1, :-1]
    )  # (B, C, S, P, P)
    if normalize is None:
        normalize = 1.0 if table.is_floating_point() else 255.0
    # float64 keeps large float-table sums exact enough; integer block sums are exact in float32.
    work = torch.float64 if table.is_floating_point() else torch.float32
    area = (blocks.to(work) ** 2) * normalize  # (S,)
    patches = sums.to(work) / area[None, None, :, None, None]
    # (B, C, S, P, P) -> (B, S, C, P, P) -> (B, S*C, P, P)
    patches = patches.transpose(1, 2).reshape(batch, num_scales * channels, patch_size, patch_size)
    return patches.to(torch.float32)


def extract_glimpses(
    images: torch.Tensor,
    locations: torch.Tensor,
    patch_size: int,
    num_scales: int = 1,
    scale_factor: int = 2,
) -> torch.Tensor:
    """Cut one glimpse from each image: :func:`integral_image` then :func:`glimpse_from_integral`.

    Args:
        images: ``(B, C, H, W)``, ``uint8`` (0..255, returned scaled to [0, 1]) or float.
        locations: ``(B, 2)`` glimpse centres ``(x, y)`` in ``[-1, 1]``.
        patch_size: ``P``; num_scales: ``S``; scale_factor: ``k`` (see the module docstring).

    Returns:
        ``(B, S*C, P, P)`` float32.

    >>> import torch
    >>> image = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    >>> image[0, 0, 14, 14] = 255
    >>> g = extract_glimpses(image, torch.zeros(1, 2), patch_size=8, num_scales=2)
    >>> g.shape
    torch.Size([1, 2, 8, 8])
    >>> g[0, 0, 4, 4].item(), g[0, 1, 4, 4].item()  # full pixel; a 2x2 block averages it
    (1.0, 0.25)
    """
    return glimpse_from_integral(
        integral_image(images), locations, patch_size, num_scales, scale_factor
    )


def reference_glimpses(
    images: torch.Tensor,
    locations: torch.Tensor,
    patch_size: int,
    num_scales: int = 1,
    scale_factor: int = 2,
) -> torch.Tensor:
    """The slow, obvious sensor: pad, crop each image in a Python loop, average-pool each scale.

    The approach of the common public RAM implementations; used as the oracle in the tests and
    as the reference in ``benchmarks/``. Same arguments and result as :func:`extract_glimpses`.
    """
    _check_geometry(patch_size, num_scales, scale_factor)
    batch, _, height, width = images.shape
    _check_locations(locations, batch)
    scale = 255.0 if not images.is_floating_point() else 1.0
    x = images.to(torch.float64) / scale
    largest = patch_size * scale_factor ** (num_scales - 1)
    pad = largest  # enough for any square centred inside the image
    padded = F.pad(x, (pad, pad, pad, pad))
    out = []
    for b in range(batch):
        scales = []
        for s in range(num_scales):
            side = patch_size * scale_factor**s
            rows, cols = square_starts(locations[b : b + 1], (height, width), side)
            r, c = int(rows[0]) + pad, int(cols[0]) + pad
            crop = padded[b : b + 1, :, r : r + side, c : c + side]
            scales.append(F.avg_pool2d(crop, scale_factor**s) if s else crop)
        out.append(torch.cat(scales, dim=1))
    return torch.cat(out).to(torch.float32)
