"""GlimpseConfig: every parameter of a glimpse environment, in one validated dataclass.

The registered ids are presets of these fields, and every field is a ``gym.make`` kwarg:
``gym.make("GlimpseEnv-v0", num_glimpses=4, reward="information_gain")``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from glimpse_env.core.rewards import Reward
from glimpse_env.data.catalog import DATASETS, ImageDataset
from glimpse_env.data.convert import as_image_dataset

__all__ = ["GlimpseConfig"]


@dataclass(frozen=True)
class GlimpseConfig:
    """The parameters of a glimpse environment (gymnax's "params": fixed for an env's life)."""

    dataset: str | ImageDataset | Any = "mnist"
    """A dataset name (mnist, fashion, kmnist, cifar10, svhn), or your own images: an
    ImageDataset, a pair (images, labels) of arrays, or a map-style dataset of (image, label)
    such as torchvision's ImageFolder (converted once, see glimpse_env.data.convert)."""
    split: str = "train"
    """'train', 'test', or a slice such as 'test[:8000]' (ignored for an ImageDataset)."""
    data_root: str | None = None
    """Where dataset files live; default $GLIMPSE_ENV_DATA, else a per-user cache."""
    download: bool = True
    """Download missing dataset files through torchvision (needs internet)."""
    canvas_size: int | None = None
    """Side of the canvas the image is pasted on at a random position; None = the image itself."""
    clutter: int = 0
    """Pieces of clutter cut from other images of the split and pasted on the canvas."""
    clutter_size: int = 8
    """Side of each clutter piece, pixels."""
    num_glimpses: int = 6
    """T: glimpses per episode (= steps per episode without early stop)."""
    patch_size: int = 8
    """P: side of each glimpse patch, pixels."""
    num_scales: int = 1
    """S: concentric squares per glimpse, of sides P, P*k, P*k^2, ..."""
    scale_factor: int = 2
    """k: ratio of consecutive squares' sides."""
    initial_location: str = "random"
    """'random' (uniform in [-1, 1]^2) or 'center' for the first glimpse."""
    reward: str | Reward = "correct"
    """A registered reward name or a Reward object (see glimpse_env.core.rewards)."""
    reward_kwargs: dict[str, Any] | None = None
    """Keyword arguments for a reward given by name."""
    early_stop: bool = False
    """Add a 'stop' action (Discrete(2)); 1 ends the episode with this step's guess."""
    fixed_canvases: bool = False
    """Canvas of image i is the same in every episode (seeded by canvas_seed): for evaluation."""
    canvas_seed: int = 0
    """Seed of the fixed canvases."""
    device: str = "cpu"
    """torch device the batched core runs on."""

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str):  # your own images: convert them once, here
            object.__setattr__(self, "dataset", as_image_dataset(self.dataset))

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> GlimpseConfig:
        """Build and validate a config; unknown names raise ValueError listing the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(
                f"unknown GlimpseEnv argument(s) {unknown}; known arguments: {sorted(known)}"
            )
        config = cls(**kwargs)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ValueError naming the field and what was expected."""

        def positive_int(name: str) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")

        for name in ("num_glimpses", "patch_size", "num_scales", "scale_factor", "clutter_size"):
            positive_int(name)
        if isinstance(self.clutter, bool) or not isinstance(self.clutter, int) or self.clutter < 0:
            raise ValueError(f"clutter must be an int >= 0, got {self.clutter!r}")
        if self.canvas_size is not None:
            positive_int("canvas_size")
        elif self.clutter:
            raise ValueError("clutter needs a canvas: set canvas_size too")
        if self.initial_location not in ("random", "center"):
            raise ValueError(
                f"initial_location must be 'random' or 'center', got {self.initial_location!r}"
            )
        if isinstance(self.dataset, str) and self.dataset not in DATASETS:
            raise ValueError(
                f"unknown dataset {self.dataset!r}; known datasets: {', '.join(DATASETS)} "
                "(or your own images: an ImageDataset, (images, labels) or a dataset of pairs)"
            )
        if self.reward_kwargs is not None and not isinstance(self.reward_kwargs, dict):
            raise ValueError(f"reward_kwargs must be a dict, got {type(self.reward_kwargs)}")
