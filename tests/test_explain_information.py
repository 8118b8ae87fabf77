"""Information per glimpse, by hand for an agent whose beliefs are fixed; glimpse footprints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from agents.explain import belief_trajectory, footprint_masks, mean_curves
from agents.explain.episodes import as_recurrent_agent, play_split
from agents.explain.study import compare_rewards, welch
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.sensor import extract_glimpses
from glimpse_env.data import ImageDataset

# The fixed beliefs of the fake agent after glimpses 1, 2, 3, over n = 4 classes.
BELIEFS = [
    [0.25, 0.25, 0.25, 0.25],
    [0.70, 0.10, 0.10, 0.10],
    [0.01, 0.97, 0.01, 0.01],
]


@dataclass
class Out:
    hidden: tuple[torch.Tensor, ...]
    location_mean: torch.Tensor
    logits: torch.Tensor


class FixedBeliefAgent:
    """Believes BELIEFS[t] after glimpse t+1 (the last one from then on) whatever it sees; moves
    to (0.5, -0.5). With ``classes != 4`` its belief is uniform."""

    def __init__(self, classes: int = 4) -> None:
        self.classes = classes

    def initial_state(self, batch, device=None):
        return (torch.zeros(batch, 1, device=device),)

    def step(self, glimpse, location, hidden):
        t = min(int(hidden[0][0, 0]), len(BELIEFS) - 1)
        belief = torch.tensor(BELIEFS[t]) if self.classes == 4 else torch.ones(self.classes)
        logits = torch.log(belief).expand(len(glimpse), self.classes)
        return Out((hidden[0] + 1,), torch.tensor([[0.5, -0.5]]).expand(len(glimpse), 2), logits)


def entropy(p: list[float]) -> float:
    return -sum(q * math.log(q) for q in p)


def fake_core(labels: list[int]) -> GlimpseCore:
    data = ImageDataset(
        torch.zeros(len(labels), 1, 28, 28, dtype=torch.uint8),
        torch.tensor(labels),
        ("a", "b", "c", "d"),
    )
    return GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=3, fixed_canvases=True))


def test_information_of_fixed_beliefs_by_hand():
    labels = [0, 1, 1, 2]
    info = belief_trajectory(FixedBeliefAgent(), fake_core(labels), episodes=4)
    h = [math.log(4)] + [entropy(p) for p in BELIEFS]
    assert h[0] == pytest.approx(h[1])  # a uniform first belief gains nothing
    np.testing.assert_allclose(info["entropy"], np.tile(h, (4, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(info["entropy"][:, 0], math.log(4))  # H_0 = log n
    gains = [h[t - 1] - h[t] for t in (1, 2, 3)]
    np.testing.assert_allclose(
        info["information_gain"], np.tile(gains, (4, 1)), rtol=1e-5, atol=1e-7
    )
    expected_log_p = [[math.log(BELIEFS[t][y]) for t in range(3)] for y in labels]
    np.testing.assert_allclose(info["log_p_true"], expected_log_p, rtol=1e-5, atol=1e-6)
    # argmax is class 0 (first of the tied uniform), then 0, then 1
    expected_correct = [[y == 0, y == 0, y == 1] for y in labels]
    np.testing.assert_array_equal(info["correct"], expected_correct)

    curves = mean_curves(info)
    np.testing.assert_allclose(curves["accuracy"], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(curves["entropy"], h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        curves["information_gain"].sum(), math.log(4) - h[-1], rtol=1e-5, atol=1e-6
    )
    # shapes of the documented arrays
    assert info["log_belief"].shape == (4, 3, 4) and info["location"].shape == (4, 3, 2)
    assert info["glimpse"].shape == (4, 3, 1, 8, 8) and info["canvas"].shape == (4, 1, 28, 28)
    # the agent's moves are where glimpses 2 and 3 were taken
    np.testing.assert_allclose(info["location"][:, 1:], np.tile([0.5, -0.5], (4, 2, 1)))


def test_belief_trajectory_reads_a_gym_env_and_is_seeded():
    env = gym.make("GlimpseEnv-v0", split="test[8000:8020]", fixed_canvases=True)
    agent = FixedBeliefAgent(classes=10)
    a = belief_trajectory(agent, env, episodes=20, seed=3, batch_size=7)
    b = belief_trajectory(agent, env.unwrapped.core, episodes=20, seed=3, batch_size=7)
    np.testing.assert_array_equal(a["location"], b["location"])
    np.testing.assert_array_equal(a["index"], np.arange(20))
    assert a["entropy"].shape == (20, 7)  # T = 6 glimpses, plus H_0
    with pytest.raises(TypeError, match="recurrent agent"):
        as_recurrent_agent(object())
    with pytest.raises(ValueError, match="episodes"):
        play_split(agent, env.unwrapped.core, episodes=0)


def sensor_footprint(location: tuple[float, float], patch: int, scales: int) -> torch.Tensor:
    """Oracle: pixel p is in the footprint iff a glimpse of the image lit only at p is nonzero."""
    deltas = torch.eye(28 * 28).reshape(28 * 28, 1, 28, 28)
    loc = torch.tensor([location]).expand(len(deltas), 2)
    glimpses = extract_glimpses(deltas, loc, patch, scales, scale_factor=2)
    return (glimpses.flatten(1) > 0).any(1).reshape(28, 28)


def test_footprint_masks_are_the_union_of_what_the_sensor_reads():
    locations = [(0.0, 0.0), (-1.0, -1.0), (0.6, 0.3)]
    # by hand: P = 8 at (0, 0) covers rows and columns 10..17; at (-1, -1), rows and cols 0..3
    masks = footprint_masks(torch.tensor([locations]), (28, 28), patch_size=8)
    first = torch.zeros(28, 28, dtype=torch.bool)
    first[10:18, 10:18] = True
    torch.testing.assert_close(masks[0, 0], first)
    second = first.clone()
    second[0:4, 0:4] = True
    torch.testing.assert_close(masks[0, 1], second)
    for scales in (1, 2):
        masks = footprint_masks(torch.tensor([locations]), (28, 28), 8, num_scales=scales)
        single = footprint_masks(torch.tensor([locations]), (28, 28), 8, scales, cumulative=False)
        union = torch.zeros(28, 28, dtype=torch.bool)
        for t, location in enumerate(locations):
            seen = sensor_footprint(location, 8, scales)
            torch.testing.assert_close(single[0, t], seen)
            union |= seen
            torch.testing.assert_close(masks[0, t], union)


def test_welch_and_the_reward_comparison():
    a, b = np.array([1.0, 1.2, 0.9]), np.array([1.5, 1.7, 1.6])
    test = welch(a, b)
    se = math.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 3)
    assert test["difference"] == pytest.approx(b.mean() - a.mean())
    assert test["t"] == pytest.approx((b.mean() - a.mean()) / se)
    assert 0 < test["p"] < 0.05
    gain = {"x": np.array([[1.0, 0.2], [1.2, 0.1], [0.9, 0.4]])}
    gain["y"] = gain["x"] + [0.0, 0.5]
    per_seed = {
        r: {
            "information_gain": g,
            "accuracy": np.ones((3, 2)),
            "entropy": np.hstack([np.full((3, 1), 2.0), 2.0 - g.cumsum(1)]),
        }
        for r, g in gain.items()
    }
    result = compare_rewards(per_seed, "x", "y")
    # the extra gain at glimpse 2 lowers H_2 by 0.5: the mean of H_1, H_2 by 0.25
    assert result["mean_entropy_over_glimpses"]["difference"] == pytest.approx(-0.25)
    assert result["total_information_gain"]["difference"] == pytest.approx(0.5)
    assert result["gain_after_first_glimpse"]["difference"] == pytest.approx(0.5)
    assert result["gain_per_glimpse"][0]["difference"] == pytest.approx(0.0)
