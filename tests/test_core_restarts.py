"""Partial restarts of the batched core: episodes that end at different times.

Restarting some rows of a batch must equal restarting those rows alone: the restarted rows get
exactly the episodes ``core.reset`` would start on the same generator, the others go on untouched,
and the batch keeps its size. Early stop, autoreset and episodes of different lengths all rely on
it. The property test drives the core under random stop patterns and checks every row against
its own bookkeeping.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from glimpse_env.core.batched import EpisodeState, GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.sensor import extract_glimpses
from glimpse_env.data.catalog import ImageDataset

CLASSES = 3


def make_core(**changes) -> GlimpseCore:
    """A core over 12 random 10x14 images (non-square), 3 glimpses of 4x4 at 2 scales."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (12, 1, 10, 14), generator=g).to(torch.uint8)
    data = ImageDataset(images, torch.arange(12) % CLASSES, classes=("a", "b", "c"))
    kwargs = dict(dataset=data, num_glimpses=3, patch_size=4, num_scales=2) | changes
    return GlimpseCore(GlimpseConfig(**kwargs))


def generator_copy(generator: torch.Generator) -> torch.Generator:
    """A generator in the same state (drawing from it leaves ``generator`` where it was)."""
    copy = torch.Generator()
    copy.set_state(generator.get_state())
    return copy


def rows_of(state: EpisodeState, rows: list[int]) -> dict[str, torch.Tensor]:
    return {f.name: getattr(state, f.name)[rows] for f in fields(EpisodeState)}


def assert_rows_equal(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    for name, value in expected.items():
        assert torch.equal(got[name], value), f"field {name} differs"


def step_some(core: GlimpseCore, state: EpisodeState, seed: int) -> EpisodeState:
    g = torch.Generator().manual_seed(seed)
    location = torch.rand(state.batch_size, 2, generator=g) * 2 - 1
    logits = torch.randn(state.batch_size, CLASSES, generator=g)
    return core.step(state, location, logits)[0]


@pytest.mark.parametrize("mask", [[1, 0, 1, 0, 0], [0, 0, 0, 0, 1], [1, 1, 1, 1, 0]])
def test_restarting_some_rows_equals_restarting_them_alone(mask):
    core = make_core()
    state = step_some(core, core.reset(torch.Generator().manual_seed(1), batch_size=5), seed=2)
    mask = torch.tensor(mask, dtype=torch.bool)
    restarted, kept = mask.nonzero()[:, 0].tolist(), (~mask).nonzero()[:, 0].tolist()
    generator = torch.Generator().manual_seed(3)
    lone_generator = generator_copy(generator)
    alone = core.reset(lone_generator, batch_size=len(restarted))
    new = core.reset_where(state, mask, generator)
    assert new.batch_size == 5
    assert_rows_equal(rows_of(new, restarted), rows_of(alone, list(range(len(restarted)))))
    assert_rows_equal(rows_of(new, kept), rows_of(state, kept))
    assert new.t[restarted].tolist() == [1] * len(restarted)
    assert new.steps[kept].tolist() == [1] * len(kept)
    # The generator moved on exactly as much as the lone reset's did.
    assert torch.equal(generator.get_state(), lone_generator.get_state())


def test_restarting_no_row_or_every_row():
    core = make_core()
    state = step_some(core, core.reset(torch.Generator().manual_seed(1), batch_size=4), seed=2)
    generator = torch.Generator().manual_seed(3)
    same = core.reset_where(state, torch.zeros(4, dtype=torch.bool), generator)
    assert_rows_equal(rows_of(same, [0, 1, 2, 3]), rows_of(state, [0, 1, 2, 3]))
    alone = core.reset(generator_copy(generator), batch_size=4)
    every = core.reset_where(state, torch.ones(4, dtype=torch.bool), generator)
    assert_rows_equal(rows_of(every, [0, 1, 2, 3]), rows_of(alone, [0, 1, 2, 3]))


def test_early_stop_of_one_episode_restarts_it_alone():
    """Row 1 stops at the first step; the others play on in the same batch."""
    core = make_core(early_stop=True, num_glimpses=4)
    generator = torch.Generator().manual_seed(5)
    state = core.reset(generator, batch_size=4)
    stop = torch.tensor([False, True, False, False])
    state, result = core.step(state, torch.zeros(4, 2), torch.zeros(4, CLASSES), stop)
    assert result.terminated.tolist() == [False, True, False, False]
    before = state
    state = core.reset_where(state, result.terminated, generator)
    assert state.batch_size == 4
    assert state.t.tolist() == [2, 1, 2, 2] and state.steps.tolist() == [1, 0, 1, 1]
    assert_rows_equal(rows_of(state, [0, 2, 3]), rows_of(before, [0, 2, 3]))


@given(
    batch=st.integers(1, 6),
    num_glimpses=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
    stops=st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=1, max_size=10),
)
def test_rows_under_random_termination_patterns(batch, num_glimpses, seed, stops):
    """Each row follows its own episode (counters, glimpses, restarts), whatever the others do."""
    core = make_core(early_stop=True, num_glimpses=num_glimpses)
    generator = torch.Generator().manual_seed(seed)
    actions = torch.Generator().manual_seed(seed + 1)
    state = core.reset(generator, batch_size=batch)
    t = np.ones(batch, dtype=int)  # each row's own count of glimpses seen
    for stop_row in stops:
        stop = torch.tensor(stop_row[:batch])
        location = torch.rand(batch, 2, generator=actions) * 2 - 1
        logits = torch.randn(batch, CLASSES, generator=actions)
        previous = state
        state, result = core.step(state, location, logits, stop)
        ends = (t >= num_glimpses) | stop.numpy()
        assert result.terminated.tolist() == ends.tolist()
        t = np.where(ends, t, t + 1)
        assert state.t.tolist() == t.tolist()
        moved = (~result.terminated).nonzero()[:, 0].tolist()
        # a row that moved sees its own canvas at the location it asked for; the others keep theirs
        expected = extract_glimpses(state.canvas, location, 4, 2)
        assert torch.equal(state.glimpse[moved], expected[moved])
        assert torch.equal(state.location[moved], location[moved])
        ended = result.terminated.nonzero()[:, 0].tolist()
        assert torch.equal(state.glimpse[ended], previous.glimpse[ended])
        alone = core.reset(generator_copy(generator), batch_size=len(ended)) if ended else None
        kept_before = rows_of(state, moved)
        state = core.reset_where(state, result.terminated, generator)
        assert state.batch_size == batch
        assert_rows_equal(rows_of(state, moved), kept_before)
        if alone is not None:
            assert_rows_equal(rows_of(state, ended), rows_of(alone, list(range(len(ended)))))
        t[ended] = 1
