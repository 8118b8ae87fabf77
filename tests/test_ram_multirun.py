"""Runs trained together (``--seeds``, several ``--env`` ids) end as the same runs trained alone,
resume exactly, and write the single-run files."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
import torch

from agents.harness.optimization import Optimization
from agents.ram.train import Args, run_args, train
from glimpse_env.commands.cli import main as cli_main

ENVS = "GlimpseEnv-v0,GlimpseEnv-translated60-v0,GlimpseEnv-cluttered60-v0"


def small_args(out, **changes) -> Args:
    args = Args(
        env=ENVS,
        seeds="1,2",
        split="test[:96]",
        test_split="test[9950:]",
        epochs=2,
        batch_size=32,
        learning_rate=3e-3,
        lr_warmup=2,
        max_grad_norm=0.5,  # clipped per run: each run's own gradient norm
        reward="correct_entropy",
        hidden_size=16,
        glimpse_hidden=8,
        glimpse_features=16,
        threads=1,
        out=str(out),
        progress=False,
        tensorboard=False,
    )
    return replace(args, **changes)


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def test_runs_trained_together_end_as_the_same_runs_trained_alone(tmp_path):
    """Three envs (two model shapes: 28x28 alone, translated60 with cluttered60) x two seeds in
    one process give each run exactly the weights, metrics and test of that run trained alone
    (on CPU, one thread: each run's rows are summed in the same order in a stack as alone)."""
    together = train(small_args(tmp_path / "together"))
    assert len(together["runs"]) == 6
    for args in run_args(small_args(tmp_path / "together")):
        alone_out = tmp_path / "alone" / args.env / f"seed{args.seed}"
        alone = train(replace(args, out=str(alone_out)))
        joint_out = tmp_path / "together" / args.env / f"seed{args.seed}"
        expected, got = weights(alone_out / "last.pt"), weights(joint_out / "last.pt")
        assert all(torch.equal(got[k], expected[k]) for k in expected), args.out
        rows = [list(csv.DictReader((o / "metrics.csv").open())) for o in (alone_out, joint_out)]
        for a, b in zip(*rows, strict=True):
            assert a["loss"] == b["loss"] and a["train_accuracy"] == b["train_accuracy"]
        results = json.loads((joint_out / "results.json").read_text())
        assert results["results"][0]["accuracy"] == alone["results"][0]["accuracy"]
        assert results["env"] == args.env and results["trained_together"]
        saved = torch.load(joint_out / "last.pt", weights_only=True)
        assert saved["args"]["seed"] == args.seed and saved["args"]["seeds"] is None


def test_resume_of_runs_trained_together_is_exact(tmp_path, monkeypatch):
    """Interrupted inside epoch 2 and resumed: the weights of an uninterrupted joint run. One
    run's last.pt is then rolled back an epoch: that run alone catches up, to the same end."""
    envs = "GlimpseEnv-v0"
    full = small_args(tmp_path / "full", env=envs, epochs=3)
    train(full)
    cut = small_args(tmp_path / "cut", env=envs, epochs=3)
    steps = {"n": 0}
    original = Optimization.apply

    def interrupting_apply(self, *args, **kwargs):
        steps["n"] += 1
        if steps["n"] > 2 * 3 + 2:  # 96 images / 32 = 3 steps per epoch, 2 runs
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Optimization, "apply", interrupting_apply)
        with pytest.raises(KeyboardInterrupt):
            train(cut)
    for seed in (1, 2):
        saved = torch.load(tmp_path / "cut" / f"seed{seed}" / "last.pt", weights_only=True)
        assert saved["epoch"] == 1
    behind = tmp_path / "cut" / "seed2"
    after_one = (behind / "last.pt").read_bytes()
    train(replace(cut, resume=True))
    for seed in (1, 2):
        expected = weights(tmp_path / "full" / f"seed{seed}" / "last.pt")
        got = weights(tmp_path / "cut" / f"seed{seed}" / "last.pt")
        assert all(torch.equal(expected[k], got[k]) for k in expected), f"seed {seed}"
        rows = list(csv.DictReader((tmp_path / "cut" / f"seed{seed}" / "metrics.csv").open()))
        assert [int(r["epoch"]) for r in rows] == [1, 2, 3]

    (behind / "last.pt").write_bytes(after_one)  # seed 2 back at epoch 1, seed 1 at epoch 3
    train(replace(cut, resume=True))
    expected = weights(tmp_path / "full" / "seed2" / "last.pt")
    got = weights(behind / "last.pt")
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_each_run_gets_its_own_folder():
    def outs(**changes) -> list[str]:
        return [a.out for a in run_args(replace(Args(out="runs"), **changes))]

    assert outs(seeds="1,2") == ["runs/seed1", "runs/seed2"]
    both = "GlimpseEnv-v0,GlimpseEnv-cluttered60-v0"
    assert outs(env=both) == ["runs/GlimpseEnv-v0/seed1", "runs/GlimpseEnv-cluttered60-v0/seed1"]
    pattern = outs(env=both, seeds="1,2", out="runs/ram-{name}-seed{seed}")
    assert pattern == [f"runs/ram-{n}-seed{s}" for n in ("v0", "cluttered60") for s in (1, 2)]
    with pytest.raises(ValueError, match="a pattern may use"):
        outs(seeds="1,2", out="runs/{run}")


def test_cli_trains_seeds_together_and_refuses_bad_seeds(tmp_path, capsys):
    out = tmp_path / "runs"
    argv = ["train", "ram", "--env", "GlimpseEnv-v0", "--split", "test[:64]", "--epochs", "1"]
    argv += ["--test-split", "test[9950:]", "--hidden-size", "16", "--batch-size", "32"]
    argv += ["--out", str(out), "--no-progress", "--threads", "1"]
    assert cli_main([*argv, "--seeds", "3,4"]) == 0
    for seed in (3, 4):
        for name in ("last.pt", "best.pt", "metrics.csv", "results.json"):
            assert (out / f"seed{seed}" / name).is_file()
    assert "training 2 runs together" in capsys.readouterr().out
    assert cli_main([*argv, "--seeds", "1,x"]) == 2
    assert "--seeds must be comma-separated ints" in capsys.readouterr().err
    assert cli_main([*argv, "--seeds", "1,1"]) == 2
    assert "must not repeat" in capsys.readouterr().err


def test_init_from_starts_each_run_from_its_checkpoint_with_a_fresh_schedule(tmp_path):
    """``--init-from`` (a pattern, as --out) fine-tunes each seed from its own checkpoint: the
    run starts at those weights, not at a fresh initialisation, and the schedule restarts
    (epoch 1 at the full learning rate)."""
    train(small_args(tmp_path / "first", env="GlimpseEnv-v0"))
    tuned = small_args(
        tmp_path / "tuned",
        env="GlimpseEnv-v0",
        epochs=1,
        learning_rate=1e-9,  # steps too small to move the weights visibly
        lr_warmup=0,
        init_from=str(tmp_path / "first" / "seed{seed}" / "last.pt"),
    )
    train(tuned)
    for seed, other in ((1, 2), (2, 1)):
        start = weights(tmp_path / "first" / f"seed{seed}" / "last.pt")
        away = weights(tmp_path / "first" / f"seed{other}" / "last.pt")
        end = weights(tmp_path / "tuned" / f"seed{seed}" / "last.pt")
        assert all(torch.allclose(end[k], start[k], atol=1e-6) for k in start), seed
        assert not all(torch.allclose(end[k], away[k], atol=1e-3) for k in away), seed
        saved = torch.load(tmp_path / "tuned" / f"seed{seed}" / "last.pt", weights_only=True)
        assert saved["epoch"] == 1 and saved["args"]["init_from"].endswith(f"seed{seed}/last.pt")
        rows = list(csv.DictReader((tmp_path / "tuned" / f"seed{seed}" / "metrics.csv").open()))
        assert float(rows[0]["learning_rate"]) == pytest.approx(1e-9)


def test_init_from_a_model_of_other_sizes_is_a_one_line_error(tmp_path, capsys):
    train(small_args(tmp_path / "small", env="GlimpseEnv-v0", seeds=None, epochs=1))
    code = cli_main(
        [
            "train", "ram", "--split", "test[:64]", "--test-split", "test[9990:]", "--epochs",
            "1", "--hidden-size", "24", "--glimpse-hidden", "8", "--glimpse-features", "16",
            "--no-progress", "--no-tensorboard", "--out", str(tmp_path / "wider"),
            "--init-from", str(tmp_path / "small" / "last.pt"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--init-from" in err and "do not fit" in err and "size mismatch" in err
