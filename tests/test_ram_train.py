"""RAM's trainer, checkpoints, resume and CLI, on small slices of the shared MNIST test set."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
import torch

from agents.ram import CheckpointError, RAMAgent
from agents.ram.checkpoint import load_checkpoint
from agents.ram.train import Args, train
from glimpse_env.commands.cli import main as cli_main


def small_args(out, **changes) -> Args:
    args = Args(
        env="GlimpseEnv-v0",
        split="test[:384]",
        test_split="test[9800:]",
        epochs=2,
        batch_size=64,
        learning_rate=1e-3,
        hidden_size=32,
        glimpse_hidden=16,
        glimpse_features=32,
        threads=1,
        out=str(out),
        progress=False,
        tensorboard=False,
    )
    return replace(args, **changes)


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def test_train_writes_checkpoints_metrics_and_results(tmp_path):
    summary = train(small_args(tmp_path, mc_samples=2, eval_every=1))
    for name in ("last.pt", "best.pt", "metrics.csv", "results.json"):
        assert (tmp_path / name).is_file()
    assert not list(tmp_path.glob(".*.tmp*")), "a temp file of an atomic write was left behind"
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(r["test_accuracy"] != "" for r in rows)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == json.loads(json.dumps(summary))
    modes = [r["mode"] for r in results["results"]]
    assert modes == ["deterministic", "monte-carlo"]
    assert len(results["results"][0]["accuracy_per_glimpse"]) == 6
    data = torch.load(tmp_path / "last.pt", weights_only=True)  # plain tensors and primitives
    assert data["epoch"] == 2 and isinstance(data["model_config"], dict)


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, monkeypatch):
    """A 3-epoch run interrupted in epoch 2 (Ctrl-C) and resumed ends with exactly the weights
    of an uninterrupted one: model, optimizer, schedule, RNG states and epoch are restored."""
    train(small_args(tmp_path / "full", epochs=3, reward="correct_entropy"))
    cut = small_args(tmp_path / "cut", epochs=3, reward="correct_entropy")
    steps = {"n": 0}
    original = torch.optim.Adam.step

    def interrupting_step(self, *args, **kwargs):
        steps["n"] += 1
        if steps["n"] > 8:  # 384 images / 64 = 6 steps per epoch: stop inside epoch 2
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(torch.optim.Adam, "step", interrupting_step)
        with pytest.raises(KeyboardInterrupt):
            train(cut)
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 1
    train(replace(cut, resume=True))
    full, resumed = weights(tmp_path / "full" / "last.pt"), weights(tmp_path / "cut" / "last.pt")
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    rows = list(csv.DictReader((tmp_path / "cut" / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]


def test_resume_with_other_arguments_is_refused(tmp_path):
    train(small_args(tmp_path, epochs=1))
    with pytest.raises(CheckpointError, match="learning_rate"):
        train(small_args(tmp_path, epochs=1, learning_rate=0.1, resume=True))


def test_corrupt_and_foreign_checkpoints_give_clear_errors(tmp_path):
    train(small_args(tmp_path, epochs=1))
    good = (tmp_path / "last.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        RAMAgent.from_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a glimpse-env RAM checkpoint"):
        RAMAgent.from_checkpoint(foreign)
    mismatched = tmp_path / "mismatched.pt"
    data = load_checkpoint(tmp_path / "last.pt")
    data["model_config"]["hidden_size"] = 64
    torch.save(data, mismatched)
    with pytest.raises(CheckpointError, match="do not match"):
        RAMAgent.from_checkpoint(mismatched)
    with pytest.raises(FileNotFoundError):
        RAMAgent.from_checkpoint(tmp_path / "missing.pt")


def test_cli_train_and_eval(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "ram", "--env", "GlimpseEnv-v0", "--split", "test[:256]"]
    argv += ["--test-split", "test[9900:]", "--epochs", "1", "--hidden-size", "32"]
    argv += ["--out", str(out), "--no-progress", "--threads", "1"]
    argv += ["--env-kwargs", '{"num_glimpses": 3}']
    assert cli_main(argv) == 0
    assert list((out / "tensorboard").iterdir()), "no TensorBoard event file"
    printed = capsys.readouterr().out
    for name in ("last.pt", "best.pt", "metrics.csv", "tensorboard/", "results.json"):
        assert f"wrote {out}/{name}\n" in printed  # the run ends with the paths it wrote
    report = tmp_path / "eval.json"
    argv = ["eval", "ram", "--checkpoint", str(out / "best.pt"), "--mc-samples", "3"]
    assert cli_main([*argv, "--json-out", str(report)]) == 0
    first = json.loads(report.read_text())
    assert cli_main([*argv, "--json-out", str(report)]) == 0
    assert json.loads(report.read_text()) == first, "evaluation is not reproducible"
    assert first["split"] == "test[9900:]"
    assert len(first["results"][0]["accuracy_per_glimpse"]) == 3
    assert "error" in capsys.readouterr().out


def test_cli_errors_are_clear(tmp_path, capsys):
    assert cli_main(["train", "ram", "--env", "NoSuchEnv-v0", "--out", str(tmp_path)]) == 2
    assert "unknown env id" in capsys.readouterr().err
    assert cli_main(["train", "ram", "--env-kwargs", "[1]", "--out", str(tmp_path)]) == 2
    assert "JSON object" in capsys.readouterr().err
    train(small_args(tmp_path / "run", epochs=1))
    argv = ["eval", "ram", "--checkpoint", str(tmp_path / "run" / "last.pt")]
    assert cli_main([*argv, "--env", "GlimpseEnv-translated60-v0"]) == 2
    assert "glimpses of shape" in capsys.readouterr().err
    assert cli_main(["eval", "ram", "--checkpoint", str(tmp_path / "nothing.pt")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
