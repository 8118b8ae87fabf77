"""The hybrid agents: one network, whose class head (and the extractor it shares with the RL
heads) learns by the env's supervised loss, and whose logits are the belief the env receives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.sb3.hybrid import HybridCrossQ, HybridPPO, HybridSAC
from agents.sb3.hybrid_env import HistoryLoop, make_hybrid_vec_env
from glimpse_env.data import ImageDataset

CLASSES = 4
T = 3
OFF_POLICY = {"learning_starts": 24, "buffer_size": 2_000, "batch_size": 64, "train_freq": 1}
SETTINGS = {
    HybridSAC: {**OFF_POLICY, "policy_kwargs": {"net_arch": [32, 32]}},
    HybridCrossQ: {**OFF_POLICY, "policy_kwargs": {"net_arch": [32, 32]}},
    HybridPPO: {"n_steps": 8, "batch_size": 32, "n_epochs": 4, "policy_kwargs": {"net_arch": [32]}},
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def level_dataset(n: int = 64) -> ImageDataset:
    """16x16 images whose brightness is their class."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % CLASSES
    images = labels[:, None, None, None] * 60 + torch.randint(0, 30, (n, 1, 16, 16), generator=g)
    return ImageDataset(images.to(torch.uint8), labels, tuple("abcd"), name="levels")


def make_model(agent_class, learning_rate: float, class_learning_rate: float):
    venv = make_hybrid_vec_env("GlimpseEnv-v0", num_envs=8, dataset=level_dataset(), num_glimpses=T)
    model = agent_class(
        "MlpPolicy", venv, seed=0, learning_rate=learning_rate, hidden=32,
        class_learning_rate=class_learning_rate, **SETTINGS[agent_class],
    )  # fmt: skip
    return model, venv


def held_out_loss(model, venv) -> float:
    """The class head's cross-entropy on the observations of a fixed batch of steps."""
    venv.seed(123)
    obs = venv.reset()
    observations, labels = [], []
    for _ in range(T):
        observations.append(obs)
        obs, _, _, infos = venv.step(np.zeros((venv.num_envs, 2), np.float32))
        labels.append([info["label"] for info in infos])
    with torch.no_grad():
        logits = model.class_logits(np.concatenate(observations))
    target = torch.as_tensor(np.concatenate(labels))
    return float(torch.nn.functional.cross_entropy(logits.cpu(), target))


def head_and_encoder(model) -> tuple[torch.Tensor, torch.Tensor]:
    belief = model.class_extractor.belief
    return belief.head[-1].weight.detach().clone(), belief.encoder[0].weight.detach().clone()


@pytest.mark.parametrize("agent_class", [HybridSAC, HybridCrossQ, HybridPPO])
def test_the_class_head_learns_by_the_supervised_loss(agent_class):
    """With the RL learning rate at 0, only the supervised loss can move the network: the class
    head and the extractor it shares change, and the head's loss on held-out steps drops."""
    model, venv = make_model(agent_class, learning_rate=0.0, class_learning_rate=1e-2)
    head, encoder = head_and_encoder(model)
    before = held_out_loss(model, venv)
    model.learn(256)
    after = held_out_loss(model, venv)
    new_head, new_encoder = head_and_encoder(model)
    assert not torch.equal(head, new_head), "the class head got no supervised gradient"
    assert not torch.equal(encoder, new_encoder), "the shared extractor got no supervised gradient"
    assert after < before - 0.2, (before, after)


def test_rl_alone_does_not_train_the_class_head():
    """With the supervised learning rate at 0 the head does not move: its learning (above) is the
    supervised loss's."""
    model, _ = make_model(HybridSAC, learning_rate=1e-3, class_learning_rate=0.0)
    head, encoder = head_and_encoder(model)
    model.learn(256)
    new_head, new_encoder = head_and_encoder(model)
    assert torch.equal(head, new_head)
    assert not torch.equal(encoder, new_encoder)  # the actor's RL loss still trains the extractor


def test_the_env_receives_the_class_heads_belief():
    model, venv = make_model(HybridPPO, learning_rate=3e-4, class_learning_rate=1e-2)
    assert isinstance(venv.source, HistoryLoop) and venv.source.head == model.class_logits
    venv.seed(0)
    obs = venv.reset()
    for _ in range(T):
        expected = torch.softmax(model.class_logits(obs), -1).numpy()
        obs, _, dones, infos = venv.step(np.zeros((venv.num_envs, 2), np.float32))
    assert dones.all()
    np.testing.assert_allclose([info["belief"] for info in infos], expected, atol=1e-6)


def test_a_hybrid_refuses_an_env_without_a_history():
    from agents.in_the_loop.sb3 import make_in_the_loop_vec_env

    venv = make_in_the_loop_vec_env("GlimpseEnv-v0", num_envs=2, dataset=level_dataset())
    with pytest.raises(ValueError, match="make_hybrid_vec_env"):
        HybridSAC("MlpPolicy", venv)
