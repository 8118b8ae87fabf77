"""RAM's model and loss: shapes, and where each part of the hybrid loss sends its gradient."""

from __future__ import annotations

import pytest
import torch

from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import hybrid_loss, returns_to_go, rollout
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.data import ImageDataset


def tiny_core(reward: str = "correct", num_glimpses: int = 4) -> GlimpseCore:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (32, 1, 28, 28), generator=gen, dtype=torch.uint8)
    data = ImageDataset(images, torch.arange(32) % 10, classes=tuple("0123456789"))
    return GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=num_glimpses, reward=reward))


def grads(module: torch.nn.Module) -> float:
    """Sum of |grad| over the module's parameters (None counts as 0)."""
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("core_kind", ["rnn", "lstm"])
def test_rollout_shapes(core_kind):
    core = tiny_core()
    model = RecurrentAttentionModel(RAMConfig(core=core_kind, hidden_size=32, glimpse_features=32))
    state = core.reset(torch.Generator().manual_seed(1), batch_size=5)
    episodes = rollout(model, core, state, torch.Generator().manual_seed(2))
    assert episodes.logits.shape == (4, 5, 10)
    assert episodes.log_probs.shape == episodes.baselines.shape == (3, 5)
    assert episodes.rewards.shape == (4, 5)
    assert episodes.locations.shape == (4, 5, 2)
    assert episodes.locations[1:].abs().max() <= 1.0


def test_one_glimpse_episodes_train_the_classifier_alone():
    core = tiny_core(num_glimpses=1)
    model = RecurrentAttentionModel(RAMConfig(hidden_size=16, glimpse_features=16))
    state = core.reset(torch.Generator().manual_seed(1), batch_size=4)
    losses = hybrid_loss(rollout(model, core, state, torch.Generator().manual_seed(2)))
    assert float(losses.reinforce) == float(losses.baseline) == 0.0
    assert torch.isfinite(losses.total)


def test_returns_to_go():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    assert returns_to_go(rewards)[:, 0].tolist() == [3.0, 2.0, 2.0]


@pytest.mark.parametrize("reinforce_to_core", [False, True])
def test_gradient_routing(reinforce_to_core):
    """Cross-entropy never reaches the location head (the sampled location is an action);
    REINFORCE never reaches the classifier (rewards are numbers from the env)."""
    torch.manual_seed(0)
    core = tiny_core("correct_entropy")
    config = RAMConfig(hidden_size=32, glimpse_features=32, reinforce_to_core=reinforce_to_core)
    model = RecurrentAttentionModel(config)
    state = core.reset(torch.Generator().manual_seed(1), batch_size=16)
    episodes = rollout(model, core, state, torch.Generator().manual_seed(2))
    losses = hybrid_loss(episodes)

    model.zero_grad()
    losses.cross_entropy.backward(retain_graph=True)
    assert grads(model.location_net) == 0.0
    assert grads(model.baseline_net) == 0.0
    assert grads(model.classifier) > 0.0
    assert grads(model.core) > 0.0

    model.zero_grad()
    losses.reinforce.backward(retain_graph=True)
    assert grads(model.classifier) == 0.0
    assert grads(model.baseline_net) == 0.0
    assert grads(model.location_net) > 0.0
    assert (grads(model.core) > 0.0) == reinforce_to_core

    model.zero_grad()
    losses.baseline.backward()
    assert grads(model.baseline_net) > 0.0
    assert grads(model.classifier) == grads(model.location_net) == grads(model.core) == 0.0


def test_sampled_location_has_no_gradient_but_log_prob_does():
    model = RecurrentAttentionModel(RAMConfig(location_std=0.2))
    mean = torch.zeros(1000, 2, requires_grad=True)
    location, log_prob = model.sample_location(mean, torch.Generator().manual_seed(0))
    assert not location.requires_grad and log_prob.requires_grad
    assert location.abs().max() <= 1.0
    assert abs(float(location.std()) - 0.2) < 0.02


def test_config_round_trip_and_unknown_field():
    config = RAMConfig(glimpse_shape=(3, 12, 12), core="lstm")
    assert RAMConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown RAMConfig field"):
        RAMConfig.from_dict({"hidden": 3})
