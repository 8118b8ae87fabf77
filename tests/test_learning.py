"""The learner's signals: ``info["label"]`` at every step on every face, and the prediction loss."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import glimpse_env
from glimpse_env import GlimpseEnv, GlimpseVectorEnv, prediction_loss
from glimpse_env.data import ImageDataset
from glimpse_env.faces.sb3 import GlimpseSB3VecEnv

T = 3  # glimpses per episode: a few episodes cross in a short test


@pytest.fixture(scope="module")
def bright() -> ImageDataset:
    """Flat grey images whose brightness tells the class: 40 * (label + 1)."""
    labels = torch.tensor([0, 3, 1, 2, 2, 0, 3, 1, 1, 0, 2, 3])
    images = (40 * (labels + 1)).to(torch.uint8).reshape(-1, 1, 1, 1).expand(-1, 1, 16, 16)
    return ImageDataset(images.contiguous(), labels, classes=tuple("abcd"))


def seen_class(glimpse: np.ndarray) -> np.ndarray:
    """The class an observation shows, ``(...)`` from glimpses ``(..., D)`` (their brightest pixel).

    Pixels outside the image read 0, and the glimpse centre is always inside it.
    """
    return np.rint(glimpse.max(axis=-1) * 255 / 40).astype(np.int64) - 1


def flat(obs: dict[str, np.ndarray], batch: int) -> np.ndarray:
    return obs["glimpse"].reshape(batch, -1)


def test_the_single_env_gives_the_label_at_reset_and_every_step(bright):
    env = gym.make("GlimpseEnv-v0", dataset=bright, num_glimpses=T)
    obs, info = env.reset(seed=0)
    for _ in range(3 * T):
        assert info["label"] == seen_class(flat(obs, 1))[0] and isinstance(info["label"], int)
        before = seen_class(flat(obs, 1))[0]
        obs, _, terminated, _, info = env.step(env.action_space.sample())
        assert info["label"] == before == seen_class(flat(obs, 1))[0]
        if terminated:
            obs, info = env.reset()
    assert "label" not in obs  # a training signal, not an observation


@pytest.mark.parametrize("env_id", ["GlimpseEnv-Box-v0", "GlimpseEnv-Discrete-v0"])
def test_the_flat_ids_give_the_label_at_every_step(bright, env_id):
    env = gym.make(env_id, dataset=bright, num_glimpses=T)
    obs, info = env.reset(seed=1)
    for _ in range(2 * T):
        before = seen_class(obs[None, :-2])[0]  # the last two values are the location
        assert info["label"] == before
        obs, _, terminated, _, info = env.step(env.action_space.sample())
        assert info["label"] == before
        if terminated:
            obs, info = env.reset()


@pytest.mark.parametrize("num_envs", [1, 5])
def test_the_vector_env_gives_labels_as_an_int64_array_every_step(bright, num_envs):
    """Next-step autoreset: the label of the episode each returned observation belongs to."""
    venv = GlimpseVectorEnv(num_envs=num_envs, dataset=bright, num_glimpses=T)
    venv.action_space.seed(0)
    obs, info = venv.reset(seed=2)
    for _ in range(3 * (T + 1)):
        assert info["label"].dtype == np.int64 and info["label"].shape == (num_envs,)
        assert info["_label"].all()
        np.testing.assert_array_equal(info["label"], seen_class(flat(obs, num_envs)))
        obs, *_, info = venv.step(venv.action_space.sample())


def test_same_step_autoreset_labels_the_new_episode_and_the_final_info_the_old(bright):
    venv = GlimpseVectorEnv(num_envs=4, dataset=bright, num_glimpses=T, autoreset_mode="same_step")
    venv.action_space.seed(0)
    obs, info = venv.reset(seed=3)
    finished = 0
    for _ in range(2 * T):
        obs, _, terminated, _, info = venv.step(venv.action_space.sample())
        np.testing.assert_array_equal(info["label"], seen_class(flat(obs, 4)))
        for i in np.flatnonzero(terminated):
            final = info["final_obs"][i]["glimpse"].reshape(1, -1)
            assert info["final_info"]["label"][i] == seen_class(final)[0]
            finished += 1
    assert finished == 8


def test_the_sb3_adapter_gives_the_label_in_every_info_dict(bright):
    venv = GlimpseSB3VecEnv(GlimpseVectorEnv(num_envs=4, dataset=bright, num_glimpses=T))
    venv.seed(4)
    obs = venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(2 * T):
        before = seen_class(flat(obs, 4))
        venv.step_async(rng.uniform(-1, 1, (4, 6)).astype(np.float32))
        obs, _, dones, infos = venv.step_wait()
        # the label of the episode each action was taken in, the finished one where it ended
        assert [info["label"] for info in infos] == before.tolist()
    assert dones.all()


# ------------------------------------------------------------------ the prediction loss


def test_prediction_loss_is_cross_entropy_per_episode_with_gradients():
    # (torch.testing.assert_close would import for seconds on its first call)
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 10, generator=gen, requires_grad=True)
    label = torch.tensor([0, 9, 3, 3, 5, 1])
    loss = prediction_loss(logits, label)
    assert loss.shape == (6,)
    assert torch.allclose(loss, F.cross_entropy(logits, label, reduction="none"), atol=1e-6)
    loss.sum().backward()
    expected = torch.softmax(logits.detach(), -1) - F.one_hot(label, 10)
    assert torch.allclose(logits.grad, expected, atol=1e-6)


def test_prediction_loss_takes_the_vector_envs_label_array():
    loss = prediction_loss(torch.zeros(3, 4), np.array([0, 1, 3]))
    assert torch.allclose(loss, torch.full((3,), float(np.log(4))))


@pytest.mark.parametrize(
    ("logits", "label", "message"),
    [
        (torch.zeros(3, 4), torch.tensor([0, 1]), r"logits \(B, n\) and label \(B,\)"),
        (torch.zeros(4), torch.tensor([0]), r"logits \(B, n\)"),
        (torch.zeros(2, 4), torch.tensor([0.0, 1.0]), "integer classes"),
        (torch.zeros(2, 4), torch.tensor([0, 4]), r"in \[0, 4\)"),
    ],
)
def test_prediction_loss_refuses_what_does_not_fit(logits, label, message):
    with pytest.raises(ValueError, match=message):
        prediction_loss(logits, label)


def test_every_face_offers_the_loss_as_loss_fn(bright):
    assert glimpse_env.prediction_loss is prediction_loss
    faces = [
        gym.make("GlimpseEnv-v0", dataset=bright).unwrapped,
        gym.make_vec("GlimpseEnv-v0", num_envs=2, dataset=bright).unwrapped,
        gym.make("GlimpseEnv-Box-v0", dataset=bright).unwrapped,
        GlimpseSB3VecEnv(GlimpseVectorEnv(num_envs=2, dataset=bright)),
    ]
    assert isinstance(faces[0], GlimpseEnv) and isinstance(faces[1], GlimpseVectorEnv)
    assert all(face.loss_fn is prediction_loss for face in faces)


def test_the_loss_of_the_final_logits_is_minus_log_the_final_belief_of_the_label(bright):
    env = gym.make("GlimpseEnv-v0", dataset=bright, num_glimpses=1)
    _, info = env.reset(seed=5)
    logits = np.array([0.5, -1.0, 2.0, 0.0], np.float32)
    _, _, terminated, _, info = env.step({"location": np.zeros(2, np.float32), "logits": logits})
    loss = env.unwrapped.loss_fn(torch.from_numpy(logits)[None], torch.tensor([info["label"]]))
    assert terminated
    assert float(loss[0]) == pytest.approx(-np.log(info["belief"][info["label"]]), rel=1e-5)
