"""RAM's REINFORCE credit, checked against targets computed by hand for non-constant rewards.

The location sampled at step ``t`` (``t = 0..T-2``) decides glimpse ``t+1``, so it is credited
with the rewards from step ``t+1`` on, ``R_{t+1} = r_{t+1} + ... + r_{T-1}``, less the baseline
``b_t``. Under ``correct`` only the last reward is non-zero and every target is the same; the
per-step rewards of ``correct_entropy`` and ``information_gain`` are where a credit off by one
step shows.
"""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import pytest
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import Rollout, hybrid_loss, returns_to_go, rollout
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.rewards import RewardInput
from glimpse_env.data.catalog import ImageDataset

# T = 4 steps, B = 2 episodes.
REWARDS = [[0.5, -1.0], [2.0, 0.0], [-0.25, 3.0], [1.0, 0.5]]  # r_t, (T, B)
# R_t = r_t + ... + r_3, by hand: episode 0: 3.25, 2.75, 0.75, 1.0; episode 1: 2.5, 3.5, 3.5, 0.5
RETURNS = [[3.25, 2.5], [2.75, 3.5], [0.75, 3.5], [1.0, 0.5]]
BASELINES = [[0.5, 1.0], [0.25, 0.0], [1.0, -0.5]]  # b_t, t = 0..2
# Advantages R_{t+1} - b_t: episode 0: 2.75-0.5, 0.75-0.25, 1-1; episode 1: 3.5-1, 3.5-0, 0.5+0.5
ADVANTAGES = [[2.25, 2.5], [0.5, 3.5], [0.0, 1.0]]
LOG_PROBS = [[-1.0, -2.0], [0.5, -0.5], [-1.5, 1.0]]
# REINFORCE = -(1/B) sum_b sum_t log_prob * advantage
#           = -(1/2) * ((-2.25 + 0.25 + 0) + (-5 - 1.75 + 1)) = 3.875
REINFORCE = 3.875
# Baseline loss = mean of (b_t - R_{t+1})^2 = (2.25^2 + 0.5^2 + 0 + 2.5^2 + 3.5^2 + 1) / 6
BASELINE_LOSS = 24.8125 / 6


def hand_rollout() -> Rollout:
    logits = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    return Rollout(
        logits=logits,
        log_probs=torch.tensor(LOG_PROBS, requires_grad=True),
        baselines=torch.tensor(BASELINES, requires_grad=True),
        rewards=torch.tensor(REWARDS),
        locations=torch.zeros(4, 2, 2),
        label=torch.tensor([2, 0]),
    )


def test_returns_to_go_by_hand():
    assert returns_to_go(torch.tensor(REWARDS)).tolist() == RETURNS


def test_reinforce_credits_each_location_with_the_rewards_after_it():
    episodes = hand_rollout()
    losses = hybrid_loss(episodes, reinforce_weight=1.0)
    assert losses.reinforce.item() == pytest.approx(REINFORCE)
    assert losses.baseline.item() == pytest.approx(BASELINE_LOSS)
    (grad,) = torch.autograd.grad(losses.reinforce, episodes.log_probs)
    expected = -torch.tensor(ADVANTAGES) / 2  # d REINFORCE / d log_prob[t, b] = -A[t, b] / B
    torch.testing.assert_close(grad, expected)


def test_reinforce_trains_neither_the_baseline_nor_the_classifier():
    episodes = hand_rollout()
    losses = hybrid_loss(episodes)
    grads = torch.autograd.grad(
        losses.reinforce, [episodes.baselines, episodes.logits], allow_unused=True
    )
    assert all(g is None or not g.any() for g in grads)
    (grad,) = torch.autograd.grad(losses.baseline, episodes.baselines)
    torch.testing.assert_close(grad, -2 * torch.tensor(ADVANTAGES) / 6)  # d MSE / d b_t


def test_by_default_the_total_is_the_plain_sum_of_the_parts():
    losses = hybrid_loss(hand_rollout())
    total = losses.cross_entropy + losses.reinforce + losses.baseline
    assert losses.total.item() == pytest.approx(total.item())
    assert losses.reinforce.item() != 0


def test_total_weighs_the_parts():
    episodes = hand_rollout()
    losses = hybrid_loss(episodes, reinforce_weight=0.5)
    ce = torch.nn.functional.cross_entropy(episodes.logits[-1], episodes.label)
    assert losses.cross_entropy.item() == pytest.approx(ce.item())
    expected = ce.item() + 0.5 * REINFORCE + BASELINE_LOSS
    assert losses.total.item() == pytest.approx(expected)


class GlimpseCount:
    """A reward of ``t`` (glimpses seen when the belief was formed): 1, 2, ..., T."""

    def __call__(self, step: RewardInput) -> torch.Tensor:
        return step.t.float()


def test_rollout_keeps_the_rewards_of_each_step_in_order():
    data = ImageDataset(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4) % 2, ("a", "b"))
    core = GlimpseCore(
        GlimpseConfig(dataset=data, num_glimpses=4, patch_size=4, reward=GlimpseCount())
    )
    torch.manual_seed(0)
    model = RecurrentAttentionModel(
        RAMConfig(glimpse_shape=(1, 4, 4), num_classes=2, hidden_size=8)
    )
    generator = torch.Generator().manual_seed(1)
    episodes = rollout(model, core, core.reset(generator, batch_size=3), generator)
    assert episodes.rewards.tolist() == [[1.0] * 3, [2.0] * 3, [3.0] * 3, [4.0] * 3]
    assert episodes.log_probs is not None and episodes.log_probs.shape == (3, 3)


def test_information_gain_credit_in_a_real_rollout():
    """Under information_gain, R_{t+1} = log p_T(y) - log p_t(y): the belief after the location."""
    env = gym.make("GlimpseEnv-v0", split="test[:64]", num_glimpses=4, reward="information_gain")
    core: GlimpseCore = env.unwrapped.core
    torch.manual_seed(0)
    model = RecurrentAttentionModel(RAMConfig(hidden_size=16, glimpse_hidden=8, glimpse_features=8))
    generator = torch.Generator().manual_seed(2)
    episodes = rollout(model, core, core.reset(generator, batch_size=5), generator)
    log_p = torch.log_softmax(episodes.logits.detach(), -1)  # (T, B, n)
    log_p_true = log_p.gather(2, episodes.label.expand(4, -1)[..., None])[..., 0]  # (T, B)
    target = log_p_true[-1] - log_p_true[:-1]  # (T-1, B): log p_{T-1}(y) - log p_t(y)
    advantage = target - episodes.baselines.detach()
    losses = hybrid_loss(episodes)
    (grad,) = torch.autograd.grad(losses.reinforce, episodes.log_probs, retain_graph=True)
    torch.testing.assert_close(grad, -advantage / 5, rtol=1e-5, atol=1e-6)


def small_core(num_glimpses: int) -> GlimpseCore:
    images = torch.randint(0, 256, (6, 1, 8, 8), generator=torch.Generator().manual_seed(5))
    data = ImageDataset(images.to(torch.uint8), torch.arange(6) % 2, ("a", "b"))
    return GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=num_glimpses, patch_size=4))


def small_model(**changes) -> RecurrentAttentionModel:
    torch.manual_seed(0)
    return RecurrentAttentionModel(
        RAMConfig(glimpse_shape=(1, 4, 4), num_classes=2, hidden_size=8, **changes)
    )


def test_sampled_locations_are_where_the_next_glimpses_go():
    """With the policy's mean at 0, step t's location is clip(std * noise_t), and its
    log-probability is that of the unclipped sample under N(0, std)."""
    core, model = small_core(4), small_model(location_std=0.7)
    with torch.no_grad():
        model.location_net.weight.zero_()
        model.location_net.bias.zero_()
    generator = torch.Generator().manual_seed(3)
    start = core.reset(generator, batch_size=5)
    noise_source = torch.Generator()
    noise_source.set_state(generator.get_state())
    episodes = rollout(model, core, start, generator)
    samples = torch.stack([0.7 * torch.randn(5, 2, generator=noise_source) for _ in range(3)])
    assert torch.equal(episodes.locations[0], start.location)
    torch.testing.assert_close(episodes.locations[1:], samples.clamp(-1, 1))
    expected = torch.distributions.Normal(0.0, 0.7).log_prob(samples).sum(-1)
    torch.testing.assert_close(episodes.log_probs, expected)
    assert episodes.logits.shape == (4, 5, 2) and episodes.rewards.shape == (4, 5)
    assert episodes.baselines.shape == (3, 5)
    assert torch.equal(episodes.label, start.label)


def test_deterministic_episodes_send_the_means_and_cannot_train_reinforce():
    core, model = small_core(3), small_model()
    generator = torch.Generator().manual_seed(4)
    start = core.reset(generator, batch_size=4)
    episodes = rollout(model, core, start, generator, deterministic=True)
    assert episodes.log_probs is None
    hidden, location = model.initial_state(4), start.location
    state = start
    for t in range(2):  # replay: each next location is the policy's mean
        out = model.step(state.glimpse, location, hidden)
        hidden, location = out.hidden, out.location_mean.detach()
        state, _ = core.step(state, location, out.logits.detach())
        torch.testing.assert_close(episodes.locations[t + 1], location)
    with pytest.raises(ValueError) as err:
        hybrid_loss(episodes)
    assert str(err.value) == "hybrid_loss needs sampled locations (deterministic=False)"


def test_one_glimpse_episodes_train_only_the_classifier():
    core, model = small_core(1), small_model()
    generator = torch.Generator().manual_seed(2)
    episodes = rollout(model, core, core.reset(generator, batch_size=3), generator)
    assert episodes.log_probs is None and episodes.baselines.shape == (0, 3)
    losses = hybrid_loss(episodes)
    assert losses.reinforce.item() == 0.0 and losses.baseline.item() == 0.0
    assert losses.total.item() == pytest.approx(losses.cross_entropy.item())
    assert losses.reinforce.shape == losses.baseline.shape == ()


def test_stacked_runs_each_get_the_loss_they_would_have_alone():
    """``R`` runs stacked (label ``(R, B)``) give ``(R,)`` losses, each its own run's."""
    g = torch.Generator().manual_seed(8)
    runs = [hand_rollout()]
    runs.append(
        Rollout(
            logits=torch.randn(4, 2, 3, generator=g),
            log_probs=torch.randn(3, 2, generator=g),
            baselines=torch.randn(3, 2, generator=g),
            rewards=torch.randn(4, 2, generator=g),
            locations=torch.zeros(4, 2, 2),
            label=torch.tensor([1, 1]),
        )
    )
    stacked = Rollout(
        logits=torch.stack([r.logits for r in runs], 1),
        log_probs=torch.stack([r.log_probs for r in runs], 1),
        baselines=torch.stack([r.baselines for r in runs], 1),
        rewards=torch.stack([r.rewards for r in runs], 1),
        locations=torch.stack([r.locations for r in runs], 1),
        label=torch.stack([r.label for r in runs]),
    )
    together = hybrid_loss(stacked, reinforce_weight=0.5)
    for i, run in enumerate(runs):
        alone = hybrid_loss(run, reinforce_weight=0.5)
        for part in ("total", "cross_entropy", "reinforce", "baseline"):
            assert getattr(together, part).shape == (2,)
            torch.testing.assert_close(getattr(together, part)[i], getattr(alone, part))


class NeverEnding:
    """A core whose episodes do not end: the rollout must say so."""

    def __init__(self, core: GlimpseCore) -> None:
        self.core, self.config = core, core.config

    def step(self, state, location, logits):
        state, result = self.core.step(state, location, logits)
        return state, replace(result, terminated=torch.zeros_like(result.terminated))


def test_a_rollout_whose_episodes_do_not_end_fails_loudly():
    core, model = small_core(2), small_model()
    generator = torch.Generator().manual_seed(1)
    with pytest.raises(RuntimeError, match=r"^episodes did not end after num_glimpses steps$"):
        rollout(model, NeverEnding(core), core.reset(generator, batch_size=2), generator)
