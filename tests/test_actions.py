"""The action codecs and validation (glimpse_env/core/actions.py), value by value."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from glimpse_env.core.actions import (
    action_space,
    decode_discrete,
    decode_flat,
    discrete_grid,
    observation_space,
    parse_action,
)


def test_spaces():
    obs = observation_space((3, 8, 8))
    assert obs["glimpse"].shape == (3, 8, 8) and obs["glimpse"].dtype == np.float32
    assert (obs["glimpse"].low == 0).all() and (obs["glimpse"].high == 1).all()
    assert obs["location"].shape == (2,) and (obs["location"].low == -1).all()
    assert (obs["location"].high == 1).all() and obs["location"].dtype == np.float32
    act = action_space(4)
    assert set(act.spaces) == {"location", "logits"}
    assert act["logits"].shape == (4,) and act["location"].shape == (2,)
    assert (act["logits"].low == -np.inf).all() and (act["logits"].high == np.inf).all()
    assert (act["location"].low == -1).all() and (act["location"].high == 1).all()
    assert act["location"].dtype == np.float32 and act["logits"].dtype == np.float32
    assert set(action_space(4, early_stop=True).spaces) == {"location", "logits", "stop"}
    assert action_space(4, early_stop=True)["stop"].n == 2


def test_parse_a_single_action():
    location, logits, stop = parse_action(
        {"location": [2.0, -0.5], "logits": [1e6, -3.0]}, 2, False
    )
    assert location.tolist() == [[1.0, -0.5]]  # clipped to [-1, 1]
    assert logits.tolist() == [[1e6, -3.0]]  # logits are not clipped
    assert location.dtype == logits.dtype == torch.float32
    assert stop is None


def test_parse_a_batch_with_stop():
    action = {
        "location": np.array([[-3.0, 0.25], [0.5, 1.0]]),
        "logits": np.zeros((2, 3)),
        "stop": np.array([1, 0]),
    }
    location, logits, stop = parse_action(action, 3, True, batch=2)
    assert location.tolist() == [[-1.0, 0.25], [0.5, 1.0]]
    assert logits.shape == (2, 3)
    assert stop.dtype == torch.bool and stop.tolist() == [True, False]
    _, _, stop = parse_action({"location": [0, 0], "logits": [0, 0, 0], "stop": 1}, 3, True)
    assert stop.tolist() == [True]


GOOD = {"location": [0.0, 0.0], "logits": [0.0, 0.0]}


@pytest.mark.parametrize(
    ("action", "match"),
    [
        ([0.0, 0.0], r"dict with keys \['location', 'logits'\], got list"),
        ({"location": [0.0, 0.0]}, r"got \['location'\]"),
        ({**GOOD, "stop": 1}, r"got \['location', 'logits', 'stop'\]"),
        ({**GOOD, "location": [0.0]}, r"action\['location'\] must have shape \(2,\), got \(1,\)"),
        (
            {**GOOD, "logits": [[0.0, 0.0]]},
            r"action\['logits'\] must have shape \(2,\), got \(1, 2\)",
        ),
        ({**GOOD, "location": ["a", "b"]}, r"action\['location'\] must be numbers of shape \(2,\)"),
        ({**GOOD, "location": [math.nan, 0.0]}, r"action\['location'\] must be finite"),
        ({**GOOD, "logits": [math.inf, 0.0]}, r"action\['logits'\] must be finite"),
    ],
)
def test_bad_actions_say_what_was_expected(action, match):
    with pytest.raises(ValueError, match=match):
        parse_action(action, 2, False)


@pytest.mark.parametrize("stop", [2, -1, [1]])
def test_bad_stops(stop):
    with pytest.raises(ValueError, match=r"action\['stop'\] must be 0 or 1 with shape \(\)"):
        parse_action({**GOOD, "stop": stop}, 2, True)


def test_a_batch_of_the_wrong_size_is_refused():
    batch = {"location": np.zeros((3, 2)), "logits": np.zeros((3, 2)), "stop": np.zeros(2)}
    with pytest.raises(ValueError, match=r"action\['location'\] must have shape \(2, 2\)"):
        parse_action(batch, 2, True, batch=2)
    batch = {"location": np.zeros((2, 2)), "logits": np.zeros((2, 2)), "stop": np.zeros(3)}
    with pytest.raises(ValueError, match=r"must be 0 or 1 with shape \(2,\)"):
        parse_action(batch, 2, True, batch=2)


def test_decode_flat():
    flat = torch.tensor([[0.5, -2.0, 1.5, -0.25, 0.0], [1.5, 1.0, -3.0, 1.0, 0.5]])
    location, logits = decode_flat(flat, 3, logit_scale=4.0)
    assert location.tolist() == [[0.5, -1.0], [1.0, 1.0]]  # clipped to [-1, 1] on both sides
    assert logits.tolist() == [[4.0, -1.0, 0.0], [-4.0, 4.0, 2.0]]  # clipped, then scaled
    with pytest.raises(ValueError, match=r"shape \(B, 5\), got \(2, 4\)"):
        decode_flat(flat[:, :4], 3, 4.0)
    with pytest.raises(ValueError, match=r"shape \(B, 5\), got \(5,\)"):
        decode_flat(flat[0], 3, 4.0)
    with pytest.raises(ValueError, match=r"^flat actions must be finite, got NaN or inf$"):
        decode_flat(torch.tensor([[0.0, 0.0, math.nan, 0.0, 0.0]]), 3, 4.0)


def test_discrete_grid_by_hand():
    # 12 pixels, 4x4 patches at the default stride 2: centres at pixels 2, 4, 6, 8, 10
    grid = discrete_grid(12, patch_size=4)
    centres = [p / 12 * 2 - 1 for p in (2, 4, 6, 8, 10)]
    assert grid.shape == (25, 2) and grid.dtype == torch.float32
    np.testing.assert_allclose(grid[:5, 0], centres, atol=1e-6)  # row 0: x varies
    np.testing.assert_allclose(grid[:5, 1], [centres[0]] * 5, atol=1e-6)
    np.testing.assert_allclose(grid[5], [centres[0], centres[1]], atol=1e-6)  # cell 5 = row 1
    # an explicit stride: centres at pixels 2, 5, 8 -> 3 x 3
    np.testing.assert_allclose(
        discrete_grid(12, 4, stride=3)[:3, 0], [p / 6 - 1 for p in (2, 5, 8)], atol=1e-6
    )
    # one-pixel patches: stride 1, every pixel centre
    np.testing.assert_allclose(discrete_grid(3, 1)[:, 0], [-2 / 3, 0.0, 2 / 3] * 3, atol=1e-6)
    assert discrete_grid(8, 8).tolist() == [[0.0, 0.0]]  # one patch: the centre


@pytest.mark.parametrize(("size", "patch", "stride"), [(8, 9, None), (8, 0, None), (8, 4, -1)])
def test_discrete_grid_refuses_what_does_not_fit(size, patch, stride):
    with pytest.raises(ValueError, match="need 1 <= patch_size <= size and stride >= 1"):
        discrete_grid(size, patch, stride)


def test_decode_discrete():
    grid = discrete_grid(16, patch_size=8)  # 3 x 3 cells
    location, logits = decode_discrete(torch.tensor([0, 7, 26]), grid, 3, confidence=2.5)
    assert location.tolist() == [grid[0].tolist(), grid[2].tolist(), grid[8].tolist()]
    assert logits.tolist() == [[2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]]
    assert logits.dtype == torch.float32
    for bad in (-1, 27):
        with pytest.raises(ValueError, match=r"ints in \[0, 27\)"):
            decode_discrete(torch.tensor([bad]), grid, 3, confidence=1.0)


def test_discrete_grid_default_stride_is_half_an_odd_patch_rounded_down():
    # 11 pixels, 5x5 patches: stride 5 // 2 = 2, centres at pixels 2.5, 4.5, 6.5, 8.5
    grid = discrete_grid(11, patch_size=5)
    centres = [p / 11 * 2 - 1 for p in (2.5, 4.5, 6.5, 8.5)]
    assert grid.shape == (16, 2)
    np.testing.assert_allclose(grid[:4, 0], centres, atol=1e-6)


def test_discrete_grid_is_made_on_the_device_asked_for():
    grid = discrete_grid(32, patch_size=8, device="meta")  # a device with no data: no copies
    assert grid.device.type == "meta" and grid.shape == (49, 2) and grid.dtype == torch.float32


def test_codecs_give_float32_whatever_the_default_dtype():
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        grid = discrete_grid(16, patch_size=8)
        location, logits = decode_discrete(torch.tensor([7]), grid, 3, confidence=5.0)
    finally:
        torch.set_default_dtype(default)
    assert grid.dtype == location.dtype == logits.dtype == torch.float32
    assert location.tolist() == [[0.5, -0.5]] and logits.tolist() == [[0.0, 5.0, 0.0]]
