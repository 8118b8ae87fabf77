"""The EIG agent learns where to look: the class is written in one corner of the image only.

16x16 images of faint noise; a 4x4 pattern of the class in the top-left corner, seen only by the
top-left cell of the 3x3 grid of 8x8 glimpses. Three glimpses, the first at a random location.
After brief training (phase 1, then phase 2) the EIG agent's second glimpse goes to that corner
far more often than chance (1 in 8 unvisited cells), and it beats the random-location reference
of the same model.
"""

from __future__ import annotations

import json

import pytest
import torch

from agents.eig.train import Args, train
from glimpse_env.data.catalog import ImageDataset

CLASSES = 4


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def corner_dataset(n: int, seed: int) -> ImageDataset:
    """``n`` 16x16 images, the class as a 4x4 pattern in the top-left corner."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    patterns = torch.zeros(CLASSES, 4, 4, dtype=torch.uint8)
    patterns[0, :2] = 255  # top half
    patterns[1, :, :2] = 255  # left half
    patterns[2] = torch.eye(4, dtype=torch.uint8) * 255  # diagonal
    patterns[3] = 255  # full
    images = (torch.rand(n, 1, 16, 16, generator=g) * 60).to(torch.uint8)
    images[:, 0, :4, :4] = patterns[labels]
    return ImageDataset(images, labels, tuple("abcd"), name="corner")


def test_eig_agent_looks_at_the_informative_corner(tmp_path):
    train_set, test_set = corner_dataset(512, seed=0), corner_dataset(256, seed=1)
    common = dict(
        env="GlimpseEnv-v0",
        env_kwargs='{"num_glimpses": 3}',
        batch_size=64,
        learning_rate=3e-3,
        cnn_channels=8,
        feature_size=32,
        hidden_size=64,
        latent_size=8,
        flow_layers=2,
        decoder_channels=16,
        eval_samples=8,
        progress=False,
        tensorboard=False,
    )
    train(Args(phase=1, epochs=20, out=str(tmp_path / "p1"), test=False, **common), train_set)
    summary = train(
        Args(
            phase=2,
            epochs=10,
            init_from=str(tmp_path / "p1" / "last.pt"),
            out=str(tmp_path / "p2"),
            **common,
        ),
        train_set,
        test_set,
    )
    results = {r["rule"]: r for r in summary["results"]}
    eig, random = results["eig"], results["random"]
    looks = eig["cell_counts"]  # glimpses 2 and 3 of 256 episodes: 512 choices
    corner_share = looks[0] / sum(looks)
    print(
        json.dumps(
            {
                "corner_share": corner_share,
                "eig": eig["accuracy_per_glimpse"],
                "random": random["accuracy_per_glimpse"],
            }
        )
    )
    assert corner_share > 0.25  # chance: 2 of ~8 unvisited cells over two glimpses -> ~1/8
    assert eig["accuracy_per_glimpse"][-1] > random["accuracy_per_glimpse"][-1] + 0.1
