"""Your own images in the env: an ImageFolder of PNGs, or a pair of arrays.

Writes 60 small PNGs (bars: horizontal, vertical, cross) into torchvision's ImageFolder layout
in a temporary folder, then plays episodes on them. Runs offline, no data root needed:

python examples/own_dataset.py
"""

import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image
from torchvision.datasets import ImageFolder

import glimpse_env  # noqa: F401  (registers the ids)
from glimpse_env.data import as_image_dataset

CLASSES = ("cross", "horizontal", "vertical")


def bars(kind: str, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """A ``(size, size)`` uint8 image: a bright bar (or two) at a random place, on noise."""
    image = rng.integers(0, 40, (size, size), dtype=np.uint8)
    row, col = rng.integers(4, size - 4, 2)
    if kind in ("horizontal", "cross"):
        image[row - 1 : row + 2, 2:-2] = 255
    if kind in ("vertical", "cross"):
        image[2:-2, col - 1 : col + 2] = 255
    return image


def write_image_folder(root: Path, per_class: int = 20) -> None:
    """ROOT/<class>/<i>.png, the layout ImageFolder reads."""
    rng = np.random.default_rng(0)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(bars(kind, rng), mode="L").save(root / kind / f"{i:02d}.png")


with tempfile.TemporaryDirectory() as folder:
    write_image_folder(Path(folder))
    # PIL images and int labels; ImageFolder's default loader makes RGB, this one keeps grey
    images = ImageFolder(folder, loader=lambda path: Image.open(path).convert("L"))
    print(f"ImageFolder: {len(images)} images, classes {images.classes}")

    # 1. Any map-style dataset of (image, label) goes straight in; converted once here.
    env = gym.make("GlimpseEnv-v0", dataset=images, num_glimpses=4, patch_size=8)
    obs, info = env.reset(seed=0)
    print("glimpse", obs["glimpse"].shape, "true class", images.classes[info["label"]])
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    print(f"guess right: {info['correct']}, reward {reward}")

    # 2. Convert once yourself when many envs share the images (sync vector envs, sweeps).
    data = as_image_dataset(images)
    print("converted:", tuple(data.images.shape), data.images.dtype, data.classes)
    envs = gym.make_vec("GlimpseEnv-cluttered60-v0", num_envs=16, dataset=data, clutter=2)
    obs, info = envs.reset(seed=0)
    print("batched glimpses", obs["glimpse"].shape, "labels", info["label"][:8])

# 3. A pair of arrays: images (N, H, W), (N, C, H, W) or (N, H, W, C), labels (N,) ints.
rng = np.random.default_rng(1)
pixels = np.stack([bars(CLASSES[i % 3], rng) for i in range(30)])  # (30, 32, 32) uint8
labels = np.arange(30) % 3
env = gym.make("GlimpseEnv-Discrete-v0", dataset=(pixels, labels))  # id-only form works too
obs, info = env.reset(seed=0)
print("flat observation", obs.shape, "actions", env.action_space)
