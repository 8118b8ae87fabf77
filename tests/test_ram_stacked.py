"""Stacked RAMs: R runs in one module play and learn exactly as each run would alone."""

from __future__ import annotations

import copy

import pytest
import torch

from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import hybrid_loss, rollout
from agents.ram.stacked import StackedRAM
from agents.ram.stacked_rollout import check_cores, segments_of, stacked_rollout, step_rewards
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.rewards import RewardInput
from glimpse_env.data import ImageDataset

SIZES = {"hidden_size": 24, "glimpse_features": 20, "glimpse_hidden": 12, "location_hidden": 12}


def synthetic_core(**kwargs) -> GlimpseCore:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 1, 28, 28), generator=gen, dtype=torch.uint8)
    data = ImageDataset(images, torch.arange(40) % 10, classes=tuple("0123456789"))
    return GlimpseCore(GlimpseConfig(dataset=data, **kwargs))


def models(config: RAMConfig, seeds) -> list[RecurrentAttentionModel]:
    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        out.append(RecurrentAttentionModel(config))
    return out


def test_models_of_other_configs_are_not_stacked():
    with pytest.raises(ValueError, match="one RAMConfig"):
        StackedRAM(
            [RecurrentAttentionModel(RAMConfig(**SIZES)), RecurrentAttentionModel(RAMConfig())]
        )


def cores_under_test() -> dict[str, list[GlimpseCore]]:
    plain = synthetic_core(num_glimpses=4, reward="correct_entropy")
    cluttered = synthetic_core(
        num_glimpses=3, canvas_size=40, clutter=2, num_scales=2, reward="information_gain"
    )
    translated = synthetic_core(num_glimpses=3, canvas_size=40, num_scales=2, reward="correct")
    return {
        "plain": [plain] * 3,
        "cluttered": [cluttered] * 3,
        "two envs": [translated, cluttered, cluttered],
    }


@pytest.mark.parametrize("core_kind", ["rnn", "lstm"])
@pytest.mark.parametrize("case", ["plain", "cluttered", "two envs"])
def test_each_stacked_run_plays_and_learns_as_it_would_alone(case, core_kind):
    """Same canvases, locations, rewards, losses and gradients as the single model's rollout
    through ``core.reset`` + ``core.step`` with the run's generator."""
    cores = cores_under_test()[case]
    config = RAMConfig(glimpse_shape=cores[0].glimpse_shape, core=core_kind, **SIZES)
    singles = models(config, [0, 1, 2])
    copies = [copy.deepcopy(m) for m in singles]
    stacked = StackedRAM(copies)
    index = torch.stack([torch.randperm(40, generator=torch.Generator().manual_seed(r))[:8]
                         for r in range(3)])  # fmt: skip
    generators = [torch.Generator().manual_seed(10 + r) for r in range(3)]
    together = stacked_rollout(stacked, cores, index, generators)
    losses = hybrid_loss(together)
    assert losses.total.shape == (3,)
    losses.total.sum().backward()
    for run, single in enumerate(singles):
        generator = torch.Generator().manual_seed(10 + run)
        core = cores[run]
        alone = rollout(single, core, core.reset(generator, index=index[run]), generator)
        for field in ("logits", "log_probs", "baselines", "rewards", "locations"):
            expected, got = getattr(alone, field), getattr(together, field)[:, run]
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6, msg=field)
        assert torch.equal(together.label[run], alone.label)
        single_losses = hybrid_loss(alone)
        torch.testing.assert_close(losses.total[run], single_losses.total, rtol=1e-5, atol=1e-6)
        single_losses.total.backward()
        for (name, expected), got in zip(
            single.named_parameters(), copies[run].parameters(), strict=True
        ):
            torch.testing.assert_close(got.grad, expected.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_deterministic_rollout_sends_the_mean_locations():
    cores = cores_under_test()["plain"]
    config = RAMConfig(glimpse_shape=cores[0].glimpse_shape, **SIZES)
    singles = models(config, [0, 1, 2])
    stacked = StackedRAM(singles)
    index = torch.arange(24).view(3, 8)
    with torch.no_grad():
        together = stacked_rollout(
            stacked, cores, index, [torch.Generator().manual_seed(r) for r in range(3)], True
        )
        assert together.log_probs is None
        for run, single in enumerate(singles):
            gen = torch.Generator().manual_seed(run)
            alone = rollout(single, cores[run], cores[run].reset(gen, index=index[run]), gen, True)
            torch.testing.assert_close(together.locations[:, run], alone.locations)


def test_the_stacked_rollout_never_reads_a_tensor_on_the_host(monkeypatch):
    """No ``.item()``, ``bool(tensor)``, ``.tolist()``...: on a GPU the whole batch is queued
    without waiting for the device."""
    cores = cores_under_test()["two envs"]
    config = RAMConfig(glimpse_shape=cores[0].glimpse_shape, **SIZES)
    stacked = StackedRAM(models(config, [0, 1, 2]))
    index = torch.arange(24).view(3, 8)
    generators = [torch.Generator().manual_seed(r) for r in range(3)]

    def host_read(self, *args, **kwargs):
        raise AssertionError("a tensor was read on the host inside the rollout")

    for name in ("item", "tolist", "__bool__", "__int__", "__float__", "__index__", "nonzero"):
        monkeypatch.setattr(torch.Tensor, name, host_read)
    losses = hybrid_loss(stacked_rollout(stacked, cores, index, generators))
    losses.total.sum().backward()
    monkeypatch.undo()
    assert torch.isfinite(losses.total).all()


def test_cores_that_cannot_share_a_model_are_refused():
    plain = synthetic_core(num_glimpses=4)
    other = synthetic_core(num_glimpses=4, num_scales=2)
    three_classes = GlimpseCore(
        GlimpseConfig(
            dataset=ImageDataset(
                torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4) % 3, tuple("abc")
            ),
            num_glimpses=4,
        )
    )
    cases = [
        (other, "glimpse shape ((1, 8, 8) vs (2, 8, 8))"),
        (synthetic_core(num_glimpses=3), "number of glimpses (4 vs 3)"),
        (three_classes, "number of classes (10 vs 3)"),
        (synthetic_core(num_glimpses=4, device="meta"), "device (cpu vs meta)"),
    ]
    for core, what in cases:
        with pytest.raises(ValueError) as err:
            check_cores([plain, core])
        assert str(err.value) == (
            f"runs trained together must share the {what}; train them in separate groups"
        )
    with pytest.raises(ValueError) as err:
        check_cores([])
    assert str(err.value) == "no runs: give at least one core"
    assert [s.runs for s in segments_of([plain, plain, other, plain])] == [
        slice(0, 2),
        slice(2, 3),
        slice(3, 4),
    ]


def test_whole_episode_rewards_are_the_cores_step_by_step():
    """``step_rewards`` scores all steps at once exactly as ``core.step`` scores each: the belief
    before (uniform first), the glimpse count, the end, the label; a reward reading them all."""

    def every_field(step: RewardInput) -> torch.Tensor:
        right = step.log_belief.gather(1, step.label[:, None])[:, 0]
        return right - 0.5 * step.prev_log_belief[:, 0] + 0.25 * step.t + 3.0 * step.terminal

    core = synthetic_core(num_glimpses=3, reward=every_field)
    logits = torch.randn(2, 3, 5, 10, generator=torch.Generator().manual_seed(1))
    states = [core.reset(torch.Generator().manual_seed(r), batch_size=5) for r in range(2)]
    label = torch.stack([state.label for state in states])
    got = step_rewards(core, logits, label)
    assert got.shape == (2, 3, 5) and got.dtype == torch.float32
    for r, state in enumerate(states):
        for t in range(3):
            state, result = core.step(state, torch.zeros(5, 2), logits[r, t])
            torch.testing.assert_close(got[r, t], result.reward)


def test_a_reward_of_the_wrong_shape_is_named_in_the_stacked_rollout():
    def flat(step: RewardInput) -> torch.Tensor:
        return torch.zeros(3)

    core = synthetic_core(num_glimpses=2, reward=flat)
    with pytest.raises(ValueError) as err:
        step_rewards(core, torch.zeros(1, 2, 4, 10), torch.zeros(1, 4, dtype=torch.int64))
    assert str(err.value) == f"reward {flat!r} returned (3,), expected a (8,) tensor"


def test_runs_index_cores_and_generators_must_agree():
    config = RAMConfig(**SIZES)
    stacked = StackedRAM(models(config, [0, 1]))
    core = synthetic_core(num_glimpses=2)
    index = torch.zeros(2, 4, dtype=torch.int64)
    generators = [torch.Generator(), torch.Generator()]
    cases = [  # (index, cores, generators, what the message reports)
        (index[:1], [core, core], generators, "got 1, 2 and 2"),
        (index, [core], generators, "got 2, 1 and 2"),
        (index, [core, core], generators[:1], "got 2, 2 and 1"),
    ]
    for rows, cores, gens, got in cases:
        with pytest.raises(ValueError) as err:
            stacked_rollout(stacked, cores, rows, gens)
        assert str(err.value) == (
            f"2 stacked runs need 2 rows of index, cores and generators; {got}"
        )
