"""SAC, unchanged, learns where to look through the in-the-loop wrapper.

16x16 images of faint noise; the class is a 4x4 pattern in the top-left corner only. Two
glimpses of 8x8: the first at a random location, the second where the agent says. The
classifier in the loop learns online; SAC sees its belief and earns the env's information gain.
After a short run the agent's second glimpse goes to the corner cell in most episodes, and the
pair beats the same classifier with random second glimpses.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from stable_baselines3 import SAC

from agents.in_the_loop.classifier import ClassifierSettings
from agents.in_the_loop.sb3 import InTheLoopSB3VecEnv
from glimpse_env.data import ImageDataset
from glimpse_env.faces.vector import GlimpseVectorEnv

CLASSES = 4
T = 2


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def corner_patterns(n: int, seed: int) -> ImageDataset:
    """``n`` 16x16 noise images, the class as a 4x4 pattern in the top-left corner."""
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


def corner_env(images: ImageDataset, num_envs: int, classifier=None, learn: bool = True):
    vector = GlimpseVectorEnv(
        num_envs=num_envs, dataset=images, num_glimpses=T, reward="information_gain"
    )
    settings = ClassifierSettings(hidden=64, learning_rate=3e-3, update_every=1, batch_episodes=64)
    return InTheLoopSB3VecEnv(vector, classifier, settings=settings, learn=learn)


def play(venv: InTheLoopSB3VecEnv, act) -> tuple[np.ndarray, float]:
    """One episode per env: the second glimpse's locations ``(N, 2)`` and the accuracy."""
    venv.seed(7)
    obs = venv.reset()
    looks = act(obs)
    _, _, _, infos = venv.step(looks)
    _, _, dones, infos = venv.step(act(venv.last))
    assert dones.all()
    return looks, float(np.mean([info["correct"] for info in infos]))


def test_sac_learns_to_look_at_the_informative_corner():
    train = corner_env(corner_patterns(512, seed=0), num_envs=8)
    model = SAC(
        "MlpPolicy", train, seed=0, learning_starts=256, batch_size=128, learning_rate=1e-3,
        gradient_steps=2, ent_coef="auto_0.1", policy_kwargs={"net_arch": [64, 64]},
    )  # fmt: skip
    model.learn(3_000)
    test = corner_env(corner_patterns(256, seed=1), 256, train.classifier, learn=False)
    looks, accuracy = play(test, lambda obs: model.predict(obs, deterministic=True)[0])
    rng = np.random.default_rng(0)
    _, random_accuracy = play(
        test, lambda obs: rng.uniform(-1, 1, (len(obs), 2)).astype(np.float32)
    )
    # the top-left cell: an 8x8 glimpse centred left of and above -0.3 sees most of the pattern
    in_corner = float(np.mean((looks < -0.3).all(axis=1)))
    print(json.dumps({"corner": in_corner, "accuracy": accuracy, "random": random_accuracy}))
    assert in_corner > 0.6  # random locations: 0.12
    assert accuracy > random_accuracy + 0.25
