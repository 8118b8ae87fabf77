"""``glimpse-env eval ram``'s measures, checked on models whose looks are known."""

from __future__ import annotations

import math

import pytest
import torch

from agents.ram.evaluate import evaluate, make_test_core
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from glimpse_env.data import ImageDataset


def fixed_looker(core, target: tuple[float, float]) -> RecurrentAttentionModel:
    """A RAM whose policy's mean is ``target`` whatever it has seen."""
    torch.manual_seed(0)
    model = RecurrentAttentionModel(
        RAMConfig(glimpse_shape=core.glimpse_shape, num_classes=core.num_classes, hidden_size=16)
    )
    with torch.no_grad():
        model.location_net.weight.zero_()
        model.location_net.bias.copy_(torch.atanh(torch.tensor(target)))
    return model


@pytest.mark.parametrize("canvas", [None, 40])
def test_look_steps_are_pixels_between_glimpse_centres(canvas):
    """From the centre to a fixed target, then staying there: the first step is the target's
    distance in pixels of the canvas (x over its width, y over its height), the others 0."""
    data = ImageDataset(
        torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8), torch.arange(12) % 3,
        classes=tuple("abc"),
    )  # fmt: skip
    kwargs = {"dataset": data, "num_glimpses": 4, "initial_location": "center"}
    if canvas:
        kwargs["canvas_size"] = canvas
    core = make_test_core(kwargs)
    result = evaluate(fixed_looker(core, (0.5, -0.25)), core, batch_size=5)
    half = (canvas or 28) / 2
    assert len(result.look_step_per_glimpse) == 3
    assert result.look_step_per_glimpse[0] == pytest.approx(math.hypot(0.5 * half, 0.25 * half))
    assert result.look_step_per_glimpse[1:] == pytest.approx([0.0, 0.0], abs=1e-5)
    assert "look step per glimpse (px): " in result.summary()
