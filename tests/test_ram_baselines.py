"""The paper's full-canvas baselines train on the env's canvases through the same code."""

from __future__ import annotations

import json

import pytest
import torch

from agents.harness import make_test_core
from agents.ram import baselines
from agents.ram.baselines import CHECKPOINTS, MLP, Args, SmallCNN, train_baseline
from glimpse_env.commands.cli import main as cli_main


@pytest.mark.parametrize("model", [SmallCNN, MLP])
@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 60, 60), (3, 32, 32)])
def test_models_classify_canvases(model, shape):
    assert model(shape, 10)(torch.zeros(2, *shape)).shape == (2, 10)


def test_baseline_learns_from_cluttered_canvases(tmp_path):
    args = Args(
        env="GlimpseEnv-cluttered60-v0",
        split="test[:512]",
        test_split="test[9800:]",
        epochs=2,
        threads=1,
        progress=False,
        out=str(tmp_path),
    )
    summary = train_baseline("mlp", args)
    assert 0.0 <= summary["test_error"] <= 1.0
    assert json.loads((tmp_path / "results.json").read_text())["model"] == "mlp"
    # last.pt rebuilds the trained model: the same test accuracy
    saved = CHECKPOINTS.load(tmp_path / "last.pt")
    model = CHECKPOINTS.load_model(saved)
    assert isinstance(model, MLP) and saved["epoch"] == 2
    test_core = make_test_core({**saved["env_kwargs"], "split": saved["test_split"]})
    assert baselines.test_accuracy(model, test_core) == summary["test_accuracy"]


def test_cli(tmp_path, capsys):
    argv = ["train", "cnn", "--split", "test[:128]", "--test-split", "test[9900:]"]
    assert cli_main([*argv, "--epochs", "1", "--no-progress", "--threads", "1"]) == 0
    assert "cnn test (test[9900:]): error" in capsys.readouterr().out
