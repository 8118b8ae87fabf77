"""The CNN and MLP baselines learn: on an easy two-class task their test error falls far below
chance (50%) in two short epochs. A baseline whose optimiser never steps, whose loss does not
reach the weights, or whose test reads the wrong labels stays near 50%."""

from __future__ import annotations

import pytest

from agents.ram.baselines import Args, train_baseline


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_baseline_error_falls_far_below_chance(kind, strip_root, tmp_path):
    args = Args(
        env="GlimpseEnv-v0",
        data_root=str(strip_root),
        split="train",
        test_split="test",
        epochs=2,
        learning_rate=3e-3,
        batch_size=64,
        hidden=32,
        seed=1,
        threads=1,
        out=str(tmp_path),
        progress=False,
        tensorboard=False,
    )
    error = train_baseline(kind, args)["test_error"]
    print(f"{kind}: test error {100 * error:.1f}% (chance 50%)")
    assert error < 0.1
