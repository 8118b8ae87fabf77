"""One step of the batched core: what a reward sees, and the dtypes the core promises."""

from __future__ import annotations

import pytest
import torch

from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.rewards import RewardInput
from glimpse_env.data.catalog import ImageDataset


def make_core(**changes) -> GlimpseCore:
    """A core over 6 random 12x12 images of 3 classes, 3 glimpses of 4x4."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 1, 12, 12), generator=g).to(torch.uint8)
    data = ImageDataset(images, torch.arange(6) % 3, classes=("a", "b", "c"))
    return GlimpseCore(
        GlimpseConfig(**{"dataset": data, "num_glimpses": 3, "patch_size": 4} | changes)
    )


class Spy:
    """A reward that records what it is given and pays the glimpse count ``t``."""

    def __init__(self) -> None:
        self.seen: list[RewardInput] = []

    def __call__(self, step: RewardInput) -> torch.Tensor:
        self.seen.append(step)
        return step.t.to(torch.float32)


def test_a_reward_sees_the_beliefs_label_end_and_glimpse_count():
    spy = Spy()
    core = make_core(reward=spy)
    state = core.reset(torch.Generator().manual_seed(1), batch_size=4)
    logits = torch.tensor([[2.0, 0.0, 0.0]] * 4)
    for t in (1, 2, 3):
        before = state.log_belief
        state, result = core.step(state, torch.zeros(4, 2), logits * t)
        step = spy.seen[-1]
        assert step.t.tolist() == [t] * 4 and result.reward.tolist() == [float(t)] * 4
        assert torch.equal(step.prev_log_belief, before) and torch.equal(step.label, state.label)
        torch.testing.assert_close(step.log_belief, torch.log_softmax(logits * t, -1))
        assert step.terminal.tolist() == [t == 3] * 4


def test_beliefs_are_float32_whatever_the_logits():
    core = make_core()
    state = core.reset(torch.Generator().manual_seed(1), batch_size=2)
    logits = torch.tensor([[0.5, 1.5, -1.0], [3.0, 0.0, 0.0]], dtype=torch.float64)
    state, result = core.step(state, torch.zeros(2, 2), logits)
    assert state.log_belief.dtype == result.belief.dtype == torch.float32
    torch.testing.assert_close(result.belief, torch.softmax(logits, -1).float())


def test_early_stop_takes_stop_flags_of_any_integer_dtype():
    core = make_core(early_stop=True)
    state = core.reset(torch.Generator().manual_seed(1), batch_size=3)
    stop = torch.tensor([1, 0, 1])  # int64 0/1, as a batched Discrete(2) action arrives
    state, result = core.step(state, torch.zeros(3, 2), torch.zeros(3, 3), stop)
    assert result.terminated.dtype == torch.bool
    assert result.terminated.tolist() == [True, False, True]
    assert state.t.tolist() == [1, 2, 1]  # only the row that goes on takes a glimpse


def test_locations_are_clipped_to_the_image_and_kept_as_float32():
    core = make_core()
    state = core.reset(torch.Generator().manual_seed(1), batch_size=3)
    location = torch.tensor([[1.5, -3.0], [-1.25, 2.0], [0.25, -0.5]], dtype=torch.float64)
    state, _ = core.step(state, location, torch.zeros(3, 3))
    assert state.location.dtype == torch.float32
    assert state.location.tolist() == [[1.0, -1.0], [-1.0, 1.0], [0.25, -0.5]]
    clipped = core.glimpse(state.table, torch.tensor([[1.0, -1.0], [-1.0, 1.0], [0.25, -0.5]]))
    assert torch.equal(state.glimpse, clipped)


def test_a_reward_of_the_wrong_shape_or_type_is_named():
    def wrong_shape(step: RewardInput) -> torch.Tensor:
        return torch.zeros(len(step.t), 2)

    def not_a_tensor(step: RewardInput) -> list[float]:
        return [0.0] * len(step.t)

    for reward, got in ((wrong_shape, "(2, 2)"), (not_a_tensor, "<class 'list'>")):
        core = make_core(reward=reward)
        state = core.reset(torch.Generator().manual_seed(1), batch_size=2)
        with pytest.raises(ValueError) as err:
            core.step(state, torch.zeros(2, 2), torch.zeros(2, 3))
        assert str(err.value) == f"reward {reward!r} returned {got}, expected a (2,) tensor"


@pytest.mark.parametrize("initial_location", ["random", "center"])
def test_reset_gives_the_documented_dtypes(initial_location):
    core = make_core(initial_location=initial_location)
    state = core.reset(torch.Generator().manual_seed(1), batch_size=2)
    dtypes = {name: getattr(state, name).dtype for name in ("index", "label", "t", "steps")}
    assert dtypes == dict.fromkeys(dtypes, torch.int64)
    assert state.t.tolist() == [1, 1] and state.steps.tolist() == [0, 0]
    assert state.location.dtype == state.glimpse.dtype == state.log_belief.dtype == torch.float32
    if initial_location == "center":
        assert state.location.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_each_row_is_right_or_wrong_by_its_own_guess_and_rewards_are_float32():
    core = make_core(reward=lambda step: step.t.to(torch.float64))
    state = core.reset(torch.Generator().manual_seed(1), batch_size=4)
    guesses = state.label.clone()
    guesses[[1, 2]] = (guesses[[1, 2]] + 1) % 3  # rows 1 and 2 guess wrong
    logits = torch.nn.functional.one_hot(guesses, 3).float() * 5
    _, result = core.step(state, torch.zeros(4, 2), logits)
    assert result.correct.tolist() == [True, False, False, True]
    assert result.reward.dtype == torch.float32
