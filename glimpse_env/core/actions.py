"""Action and observation spaces, action validation, and the codecs of the narrower action forms.

The native action is a Dict: ``location`` Box(-1, 1, (2,)) where to look next, ``logits``
Box(-inf, inf, (n,)) the class belief, and with early stop ``stop`` Discrete(2). Two narrower forms
exist for libraries that cannot act in a Dict (see :mod:`glimpse_env.faces.wrappers`):

- flat: one Box(-1, 1, (2 + n,)) vector, ``[x, y, logit_1/scale, ..., logit_n/scale]``.
- discrete: one Discrete(G*G*n) integer, ``cell * n + class`` over a G x G grid of locations.

The codecs here turn batches of either into the native tensors, so the gymnasium wrappers and the
SB3 VecEnv adapter share one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

__all__ = [
    "action_space",
    "decode_discrete",
    "decode_flat",
    "discrete_grid",
    "observation_space",
    "parse_action",
]


def observation_space(glimpse_shape: tuple[int, int, int]) -> spaces.Dict:
    """``Dict(glimpse=Box(0, 1, (S*C, P, P)), location=Box(-1, 1, (2,)))``, float32."""
    return spaces.Dict(
        {
            "glimpse": spaces.Box(0.0, 1.0, glimpse_shape, dtype=np.float32),
            "location": spaces.Box(-1.0, 1.0, (2,), dtype=np.float32),
        }
    )


def action_space(num_classes: int, early_stop: bool = False) -> spaces.Dict:
    """The native action: ``location`` (2,) in [-1, 1], ``logits`` (n,), optional ``stop``."""
    parts: dict[str, spaces.Space] = {
        "location": spaces.Box(-1.0, 1.0, (2,), dtype=np.float32),
        "logits": spaces.Box(-np.inf, np.inf, (num_classes,), dtype=np.float32),
    }
    if early_stop:
        parts["stop"] = spaces.Discrete(2)
    return spaces.Dict(parts)


def _as_float_tensor(value: Any, name: str, shape: tuple[int, ...], device) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(np.asarray(value, dtype=np.float32), device=device)
    except (TypeError, ValueError) as err:
        raise ValueError(f"action[{name!r}] must be numbers of shape {shape}: {err}") from err
    if tuple(tensor.shape) != shape:
        raise ValueError(f"action[{name!r}] must have shape {shape}, got {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"action[{name!r}] must be finite, got NaN or inf: {value!r}")
    return tensor


def parse_action(
    action: Any,
    num_classes: int,
    early_stop: bool,
    batch: int | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Validate a native action (one, or a batch of ``batch``) and return tensors.

    Returns:
        ``location (B, 2)`` clipped to [-1, 1], ``logits (B, n)``, ``stop (B,)`` bool or None;
        ``B = 1`` for a single action.

    Raises:
        ValueError: not a mapping, missing or extra keys, wrong shapes, NaN or inf.
    """
    expected = ["location", "logits"] + (["stop"] if early_stop else [])
    if not isinstance(action, Mapping) or sorted(action) != sorted(expected):
        got = sorted(action) if isinstance(action, Mapping) else type(action).__name__
        raise ValueError(f"action must be a dict with keys {expected}, got {got}")
    lead = () if batch is None else (batch,)
    location = _as_float_tensor(action["location"], "location", (*lead, 2), device)
    logits = _as_float_tensor(action["logits"], "logits", (*lead, num_classes), device)
    stop = None
    if early_stop:
        stop_array = np.asarray(action["stop"])
        if stop_array.shape != lead or not np.isin(stop_array, (0, 1)).all():
            raise ValueError(f"action['stop'] must be 0 or 1 with shape {lead}, got {stop_array!r}")
        stop = torch.as_tensor(stop_array.astype(bool), device=device).reshape(-1)
    return location.reshape(-1, 2).clamp(-1, 1), logits.reshape(-1, num_classes), stop


def decode_flat(
    flat: torch.Tensor, num_classes: int, logit_scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 2 + n)`` flat actions -> ``location (B, 2)`` (clipped), ``logits (B, n)``.

    >>> loc, logits = decode_flat(torch.tensor([[0.5, -2.0, 1.0, 0.0]]), 2, logit_scale=10.0)
    >>> loc.tolist(), logits.tolist()
    ([[0.5, -1.0]], [[10.0, 0.0]])
    """
    if flat.ndim != 2 or flat.shape[1] != 2 + num_classes:
        raise ValueError(
            f"flat actions must have shape (B, {2 + num_classes}), got {tuple(flat.shape)}"
        )
    if not torch.isfinite(flat).all():
        raise ValueError("flat actions must be finite, got NaN or inf")
    return flat[:, :2].clamp(-1, 1), flat[:, 2:].clamp(-1, 1) * logit_scale


def discrete_grid(
    size: int, patch_size: int, stride: int | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Centres of the ``P x P`` patches at a ``stride`` over a ``size x size`` image.

    ``G = (size - P) // stride + 1`` positions per axis (stride default ``P // 2``): 8x8 patches
    at stride 4 on 32x32 images give the 7x7 grid of Rangrej & Clark (2021).

    Returns:
        ``(G*G, 2)`` float32 locations ``(x, y)`` in [-1, 1], row-major (cell ``r*G + c``).

    >>> discrete_grid(16, patch_size=8).tolist()[:4]  # centres at pixels 4, 8, 12
    [[-0.5, -0.5], [0.0, -0.5], [0.5, -0.5], [-0.5, 0.0]]
    """
    stride = stride or max(patch_size // 2, 1)
    if not 1 <= patch_size <= size or stride < 1:
        raise ValueError(
            f"need 1 <= patch_size <= size and stride >= 1, got size {size}, "
            f"patch_size {patch_size}, stride {stride}"
        )
    count = (size - patch_size) // stride + 1
    pixels = patch_size / 2 + stride * torch.arange(count, dtype=torch.float32, device=device)
    centres = pixels / size * 2 - 1
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def decode_discrete(
    action: torch.Tensor, grid: torch.Tensor, num_classes: int, confidence: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B,)`` ints ``cell * n + class`` -> ``location (B, 2)``, one-hot ``logits (B, n)``.

    The chosen class gets logit ``confidence``, the others 0.

    >>> grid = discrete_grid(16, patch_size=8)  # 3 x 3 cells
    >>> loc, logits = decode_discrete(torch.tensor([7]), grid, 3, confidence=5.0)
    >>> loc.tolist(), logits.tolist()  # cell 2 (row 0, column 2), class 1
    ([[0.5, -0.5]], [[0.0, 5.0, 0.0]])
    """
    action = action.reshape(-1).long()
    size = grid.shape[0] * num_classes
    if ((action < 0) | (action >= size)).any():
        raise ValueError(f"discrete actions must be ints in [0, {size}), got {action.tolist()}")
    cell, cls = action // num_classes, action % num_classes
    logits = torch.nn.functional.one_hot(cls, num_classes).to(torch.float32) * confidence
    return grid[cell], logits
