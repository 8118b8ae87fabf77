"""``--resume`` continues a run from the state saved in ``last.pt``; it does not start again.

A deterministic restart from scratch ends with the same weights as a true resume, so equal final
weights alone do not show that the checkpoint was used. Here a run is stopped in epoch 2 of 3,
and the resumed run must (a) take only the gradient steps of epochs 2 and 3, (b) end with the
weights of the uninterrupted run, and (c) end elsewhere when the saved weights are changed before
resuming: its tail depends on the saved state. Checked for RAM and for a baseline, which share
the training harness.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch

from agents.harness.optimization import Optimization
from agents.ram import baselines
from agents.ram import train as ram_train

STEPS_PER_EPOCH = 4  # 256 training images in batches of 64


def ram_run():
    args = ram_train.Args(
        env="GlimpseEnv-v0",
        env_kwargs='{"num_glimpses": 2}',
        hidden_size=16,
        glimpse_hidden=8,
        glimpse_features=16,
        reward="correct_entropy",  # per-step rewards: the RNG and the baseline matter
    )
    return args, ram_train.train


def mlp_run():
    args = baselines.Args(env="GlimpseEnv-v0", hidden=16)
    return args, lambda a: baselines.train_baseline("mlp", a)


@pytest.fixture(params=[ram_run, mlp_run], ids=["ram", "mlp"])
def run(request, strip_root):
    """``(args, train)``: 3 epochs of 4 steps on 256 images of ``strip_root``."""
    args, train = request.param()
    common = dict(
        data_root=str(strip_root),
        split="train[:256]",
        test_split="test[:64]",
        epochs=3,
        batch_size=64,
        learning_rate=3e-3,
        seed=3,
        threads=1,
        progress=False,
        tensorboard=False,
    )
    return replace(args, **common), train


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def count_steps(monkeypatch, stop_after: int | None = None) -> dict[str, int]:
    """Count the harness's gradient steps; raise KeyboardInterrupt after ``stop_after``."""
    steps = {"n": 0}
    original = Optimization.step

    def counting_step(self, *args, **kwargs):
        if stop_after is not None and steps["n"] >= stop_after:
            raise KeyboardInterrupt
        steps["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Optimization, "step", counting_step)
    return steps


def test_resume_continues_from_the_saved_state(run, tmp_path, monkeypatch):
    args, train = run
    full = replace(args, out=str(tmp_path / "full"))
    with monkeypatch.context() as patch:
        steps = count_steps(patch)
        train(full)
    assert steps["n"] == 3 * STEPS_PER_EPOCH

    cut = replace(args, out=str(tmp_path / "cut"))
    with monkeypatch.context() as patch:
        count_steps(patch, stop_after=STEPS_PER_EPOCH + 2)  # inside epoch 2
        with pytest.raises(KeyboardInterrupt):
            train(cut)
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 1
    shutil.copytree(tmp_path / "cut", tmp_path / "changed")

    with monkeypatch.context() as patch:
        steps = count_steps(patch)
        train(replace(cut, resume=True))
    assert steps["n"] == 2 * STEPS_PER_EPOCH, "the resumed run did not start after epoch 1"
    expected, resumed = (
        weights(tmp_path / "full" / "last.pt"),
        weights(tmp_path / "cut" / "last.pt"),
    )
    assert all(torch.equal(expected[k], resumed[k]) for k in expected)

    # The same resume from a checkpoint whose weights were changed ends elsewhere.
    saved = torch.load(tmp_path / "changed" / "last.pt", weights_only=True)
    saved["model"] = {k: v + 0.1 if v.is_floating_point() else v for k, v in saved["model"].items()}
    torch.save(saved, tmp_path / "changed" / "last.pt")
    train(replace(args, out=str(tmp_path / "changed"), resume=True))
    changed = weights(tmp_path / "changed" / "last.pt")
    assert not all(torch.equal(expected[k], changed[k]) for k in expected), (
        "the resumed run ignored the weights in last.pt"
    )
