"""Rewards computed by hand, the registry, and third-party rewards through package metadata."""

from __future__ import annotations

import math
import sys
import textwrap

import pytest
import torch

from glimpse_env.core.rewards import (
    RewardInput,
    available_rewards,
    entropy,
    make_reward,
    register_reward,
)


def step(belief, prev, label, terminal, t=1) -> RewardInput:
    belief, prev = torch.tensor(belief), torch.tensor(prev)
    return RewardInput(
        log_belief=belief.log(), prev_log_belief=prev.log(), label=torch.tensor(label),
        terminal=torch.tensor(terminal), t=torch.full((len(label),), t),
    )  # fmt: skip


UNIFORM = [0.25, 0.25, 0.25, 0.25]
BELIEFS = [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1]]


def test_correct_pays_only_a_right_final_guess():
    reward = make_reward("correct")
    out = reward(step(BELIEFS, [UNIFORM, UNIFORM], [0, 0], [True, True]))
    assert out.tolist() == [1.0, 0.0]
    out = reward(step(BELIEFS, [UNIFORM, UNIFORM], [0, 0], [False, False]))
    assert out.tolist() == [0.0, 0.0]


def test_correct_entropy_by_hand():
    reward = make_reward("correct_entropy", {"beta": 0.5})
    h_uniform = math.log(4)
    h_belief = -(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1))
    out = reward(step(BELIEFS, [UNIFORM, UNIFORM], [0, 0], [True, False]))
    expected = [1 + 0.5 * (h_uniform - h_belief), 0.5 * (h_uniform - h_belief)]
    assert out.tolist() == pytest.approx(expected, abs=1e-6)


def test_correct_entropy_telescopes_over_an_episode():
    beta, n = 0.5, 4
    reward = make_reward("correct_entropy", {"beta": beta})
    beliefs = [[0.4, 0.2, 0.2, 0.2], [0.1, 0.6, 0.2, 0.1], [0.05, 0.05, 0.85, 0.05]]
    prev, total = UNIFORM, 0.0
    for t, belief in enumerate(beliefs, start=1):
        total += reward(step([belief], [prev], [2], [t == 3], t)).item()
        prev = belief
    final_h = entropy(torch.tensor([beliefs[-1]]).log()).item()
    assert total == pytest.approx(1 + beta * (math.log(n) - final_h), abs=1e-6)


def test_information_gain_by_hand():
    reward = make_reward("information_gain")
    out = reward(step(BELIEFS, [UNIFORM, UNIFORM], [0, 0], [False, True]))
    assert out.tolist() == pytest.approx([math.log(0.7 / 0.25), math.log(0.1 / 0.25)], abs=1e-6)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="known rewards: correct, correct_entropy"):
        make_reward("accuracy")


def test_bad_kwargs_and_objects():
    with pytest.raises(ValueError, match="bad reward_kwargs"):
        make_reward("correct", {"beta": 1})
    with pytest.raises(ValueError, match="reward_kwargs apply to a reward given by name"):
        make_reward(make_reward("correct"), {"beta": 1})
    with pytest.raises(ValueError, match="callable"):
        make_reward(42)
    with pytest.raises(ValueError, match="finite"):
        make_reward("correct_entropy", {"beta": float("nan")})


def test_register_reward():
    class Half:
        def __call__(self, s):
            return torch.full(s.label.shape, 0.5)

    register_reward("half_for_test", Half)
    assert "half_for_test" in available_rewards()
    assert make_reward("half_for_test")(step(BELIEFS, BELIEFS, [0, 1], [0, 0])).tolist() == [
        0.5,
        0.5,
    ]
    with pytest.raises(ValueError, match="already registered"):
        register_reward("half_for_test", lambda: None)


def test_third_party_reward_through_entry_point_metadata(tmp_path, monkeypatch):
    """A package with a ``glimpse_env.rewards`` entry point, found via real dist-info metadata."""
    (tmp_path / "my_rewards.py").write_text(
        textwrap.dedent("""
        import torch

        class Bonus:
            def __init__(self, amount=2.0):
                self.amount = amount

            def __call__(self, step):
                return step.terminal.float() * self.amount
    """)
    )
    dist = tmp_path / "my_rewards-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rewards\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[glimpse_env.rewards]\nbonus = my_rewards:Bonus\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_rewards", raising=False)
    assert "bonus" in available_rewards()
    reward = make_reward("bonus", {"amount": 3.0})
    assert reward(step(BELIEFS, BELIEFS, [0, 1], [True, False])).tolist() == [3.0, 0.0]

    import gymnasium as gym

    env = gym.make("GlimpseEnv-v0", split="test", num_glimpses=1, reward="bonus")
    env.reset(seed=0)
    action = {"location": [0.0, 0.0], "logits": [0.0] * 10}
    assert env.step(action)[1] == 2.0
