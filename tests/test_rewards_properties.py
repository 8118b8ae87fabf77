"""The rewards' documented identities, for random beliefs, labels and parameters (Hypothesis).

Over an episode of ``T`` steps whose first "previous" belief is uniform over ``n`` classes:

- ``correct`` pays 1 at the final step iff the final guess (argmax) is the label, else 0;
- ``correct_entropy`` sums to ``correct + beta * (log n - H(final belief))``;
- ``information_gain`` sums to ``log p_T(y) - log(1/n)`` (it telescopes).

Checked on the reward functions directly, and through the batched core, whose bookkeeping of the
previous belief (uniform at reset, then the last one sent, uniform again after a restart) the
identities depend on.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.rewards import RewardInput, make_reward
from glimpse_env.data.catalog import ImageDataset


@st.composite
def episodes(draw):
    """``(logits (T, B, n), label (B,), beta)`` with logits from a wide range."""
    n, steps, batch = draw(st.integers(2, 12)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.01, 1.0, 10.0, 30.0]))
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(steps, batch, n, generator=g) * scale
    label = torch.randint(0, n, (batch,), generator=g)
    beta = draw(st.floats(-5.0, 5.0, allow_nan=False))
    return logits, label, beta


def entropy(p: np.ndarray) -> np.ndarray:
    """Entropy (nats) of rows of probabilities, 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(-1)


def expected_sums(logits: torch.Tensor, label: torch.Tensor, beta: float) -> dict[str, np.ndarray]:
    """The episode sums of each reward from the documented identities, in float64."""
    n = logits.shape[-1]
    final = torch.softmax(logits[-1].double(), -1).numpy()
    rows = np.arange(len(label))
    correct = (final.argmax(-1) == label.numpy()).astype(float)
    return {
        "correct": correct,
        "correct_entropy": correct + beta * (math.log(n) - entropy(final)),
        "information_gain": np.log(final[rows, label.numpy()]) + math.log(n),
    }


def reward_sums(logits: torch.Tensor, label: torch.Tensor, beta: float) -> dict[str, np.ndarray]:
    """Call each reward step by step as the env does and sum over the episode."""
    steps, batch, n = logits.shape
    rewards = {
        "correct": make_reward("correct"),
        "correct_entropy": make_reward("correct_entropy", {"beta": beta}),
        "information_gain": make_reward("information_gain"),
    }
    sums = {name: np.zeros(batch) for name in rewards}
    previous = torch.full((batch, n), -math.log(n))
    for t in range(steps):
        log_belief = torch.log_softmax(logits[t], -1)
        terminal = torch.full((batch,), t == steps - 1)
        step = RewardInput(log_belief, previous, label, terminal, torch.full((batch,), t + 1))
        for name, reward in rewards.items():
            value = reward(step)
            assert value.shape == (batch,)
            if name == "correct" and t < steps - 1:
                assert not value.any(), "correct pays only at the final step"
            sums[name] += value.double().numpy()
        previous = log_belief
    return sums


def assert_sums_close(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-4, atol=2e-4, err_msg=name)


@given(episodes())
def test_episode_sums_follow_the_identities(case):
    logits, label, beta = case
    assert_sums_close(reward_sums(logits, label, beta), expected_sums(logits, label, beta))


@pytest.mark.parametrize("n", [2, 10])
def test_a_confident_right_guess_after_a_uniform_start(n):
    """By hand: a one-hot belief on the label gives 1 + beta log n and gain log n."""
    logits = torch.full((1, 1, n), -1e4)
    logits[0, 0, 1] = 0.0
    sums = reward_sums(logits, torch.tensor([1]), beta=0.5)
    assert sums["correct"].tolist() == [1.0]
    assert sums["correct_entropy"][0] == pytest.approx(1 + 0.5 * math.log(n), abs=1e-5)
    assert sums["information_gain"][0] == pytest.approx(math.log(n), abs=1e-5)


def core_sums(reward: str, reward_kwargs: dict, logits: torch.Tensor, label: torch.Tensor):
    """Play the episodes through a GlimpseCore whose images carry ``label``; sum the rewards."""
    steps, batch, n = logits.shape
    images = torch.zeros(batch, 1, 8, 8, dtype=torch.uint8)
    data = ImageDataset(images, label, classes=tuple(str(i) for i in range(n)))
    config = GlimpseConfig(
        dataset=data, num_glimpses=steps, patch_size=4, reward=reward, reward_kwargs=reward_kwargs
    )
    core = GlimpseCore(config)
    state = core.reset(torch.Generator().manual_seed(0), index=torch.arange(batch))
    total = torch.zeros(batch, dtype=torch.float64)
    for t in range(steps):
        state, result = core.step(state, torch.zeros(batch, 2), logits[t])
        total += result.reward.double()
    assert result.terminated.all()
    return total.numpy()


@given(episodes())
def test_the_core_feeds_each_reward_its_previous_belief(case):
    logits, label, beta = case
    expected = expected_sums(logits, label, beta)
    for name, kwargs in (("correct_entropy", {"beta": beta}), ("information_gain", {})):
        got = core_sums(name, kwargs, logits, label)
        np.testing.assert_allclose(got, expected[name], rtol=1e-4, atol=2e-4, err_msg=name)


@given(episodes(), st.integers(0, 2**31 - 1))
def test_a_restarted_episode_starts_from_a_uniform_belief(case, seed):
    """After an early stop and a restart, the next episode's gains telescope from log(1/n)."""
    logits, label, _ = case
    steps, batch, n = logits.shape
    images = torch.zeros(len(label), 1, 4, 4, dtype=torch.uint8)
    data = ImageDataset(images, label, classes=tuple(str(i) for i in range(n)))
    config = GlimpseConfig(
        dataset=data, num_glimpses=steps, patch_size=2, reward="information_gain", early_stop=True
    )
    core = GlimpseCore(config)
    generator = torch.Generator().manual_seed(seed)
    state = core.reset(generator, batch_size=batch)
    stop = torch.rand(batch, generator=generator) < 0.5
    state, first = core.step(state, torch.zeros(batch, 2), torch.randn(batch, n), stop)
    state = core.reset_where(state, first.terminated, generator)
    restarted = first.terminated  # these rows play a whole new episode from here
    total = torch.zeros(batch, dtype=torch.float64)
    for t in range(steps):
        state, result = core.step(state, torch.zeros(batch, 2), logits[t])
        total += torch.where(restarted, result.reward.double(), 0.0)
        label = state.label
        state = core.reset_where(state, result.terminated, generator)  # autoreset the others
    assert result.terminated[restarted].all()
    final = torch.log_softmax(logits[-1].double(), -1)
    expected = final.gather(1, label[:, None])[:, 0] + math.log(n)
    np.testing.assert_allclose(
        total[restarted].numpy(), expected[restarted].numpy(), rtol=1e-4, atol=2e-4
    )


def test_documented_defaults_and_names():
    """``correct_entropy``'s beta defaults to 0.5; each reward shows its name and parameters."""
    assert make_reward("correct_entropy").beta == 0.5
    assert repr(make_reward("correct")) == "Correct()"
    assert repr(make_reward("correct_entropy", {"beta": 2})) == "CorrectEntropy(beta=2.0)"
    assert repr(make_reward("information_gain")) == "InformationGain()"


def test_reward_objects_pass_through_and_misuse_is_named():
    def mine(step: RewardInput) -> torch.Tensor:
        return torch.zeros(len(step.label))

    assert make_reward(mine) is mine
    with pytest.raises(ValueError) as err:
        make_reward(mine, {"beta": 1.0})
    assert str(err.value) == (
        "reward_kwargs apply to a reward given by name, not to a reward object"
    )
    with pytest.raises(ValueError) as err:
        make_reward(3)
    assert str(err.value) == "reward must be a registered name or a callable Reward, got int"
