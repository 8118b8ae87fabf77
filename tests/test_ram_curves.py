"""RAM learning curves from runs' metrics.csv and eval.json (``python -m agents.ram.curves``)."""

from __future__ import annotations

import csv
import json

import pytest

from agents.ram.curves import main, read_chains, read_runs


def write_run(folder, stem: str, env: str, tests: dict[int, float], final: float, epochs: int):
    """A metrics.csv of ``epochs`` rows (test accuracy at the epochs of ``tests``) and its
    eval.json (deterministic accuracy ``final``, then a Monte-Carlo one)."""
    with (folder / f"{stem}.metrics.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, ["epoch", "train_accuracy", "test_accuracy"])
        writer.writeheader()
        for epoch in range(1, epochs + 1):
            writer.writerow(
                {"epoch": epoch, "train_accuracy": 0.5, "test_accuracy": tests.get(epoch, "")}
            )
    results = [
        {"mode": "monte-carlo", "mc_samples": 10, "accuracy": 0.99},
        {"mode": "deterministic", "mc_samples": 1, "accuracy": final},
    ]
    (folder / f"{stem}.eval.json").write_text(json.dumps({"env": env, "results": results}))


def test_runs_are_read_and_plotted_per_experiment(tmp_path):
    write_run(tmp_path, "ram-a-seed1", "GlimpseEnv-v0", {2: 0.9, 4: 0.95}, 0.96, 5)
    write_run(tmp_path, "ram-b-seed1", "GlimpseEnv-cluttered60-v0", {3: 0.5}, 0.75, 3)
    write_run(tmp_path, "ram-a-other", "GlimpseEnv-v0", {1: 0.1}, 0.1, 1)
    runs = read_runs(tmp_path, "seed")
    assert [r.name for r in runs] == ["ram-a-seed1", "ram-b-seed1"]
    a = runs[0]
    assert (a.env_id, a.epochs, a.final_epoch) == ("GlimpseEnv-v0", (2, 4), 5)
    assert a.errors == pytest.approx((10.0, 5.0)) and a.final_error == pytest.approx(4.0)
    out = tmp_path / "sub" / "curves.png"
    assert main(["--folder", str(tmp_path), "--select", "seed", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_runs_are_one_line_errors(tmp_path, capsys):
    assert main(["--folder", str(tmp_path)]) == 2
    assert "no STEM.metrics.csv with '' in its name in" in capsys.readouterr().err
    write_run(tmp_path, "ram-a", "GlimpseEnv-v0", {1: 0.5}, 0.5, 1)
    (tmp_path / "ram-a.eval.json").unlink()
    assert main(["--folder", str(tmp_path)]) == 2
    assert "ram-a.metrics.csv has no ram-a.eval.json beside it" in capsys.readouterr().err
    (tmp_path / "ram-a.metrics.csv").write_text("x,y\n1,2\n")
    (tmp_path / "ram-a.eval.json").write_text(json.dumps({"env": "e", "results": [
        {"mode": "deterministic", "accuracy": 0.5}]}))  # fmt: skip
    with pytest.raises(ValueError, match=r"is not a RAM metrics\.csv"):
        read_runs(tmp_path)


def test_warm_restarts_are_chained_into_one_line(tmp_path, capsys):
    """Each run's epochs continue from the previous one's last; the final dot is the last run's
    evaluation; stems are found in subfolders; a missing or doubled stem is one line."""
    (tmp_path / "restarts").mkdir()
    write_run(tmp_path, "ram-a-seed1", "GlimpseEnv-v0", {2: 0.9, 4: 0.95}, 0.96, 5)
    write_run(tmp_path / "restarts", "ram-r1-seed1", "GlimpseEnv-v0", {3: 0.97}, 0.98, 3)
    write_run(tmp_path / "restarts", "ram-r2-seed1", "GlimpseEnv-v0", {1: 0.98, 2: 0.99}, 0.995, 2)
    write_run(tmp_path, "ram-a-seed2", "GlimpseEnv-v0", {5: 0.9}, 0.91, 5)
    one, alone = read_chains(tmp_path, "ram-a-seed1 + ram-r1-seed1 + ram-r2-seed1; ram-a-seed2")
    assert one.name == "ram-a-seed1 + 2 restarts" and alone.name == "ram-a-seed2"
    assert one.epochs == (2, 4, 8, 9, 10) and one.final_epoch == 10
    assert one.errors == pytest.approx((10.0, 5.0, 3.0, 2.0, 1.0))
    assert one.final_error == pytest.approx(0.5)
    out = tmp_path / "chains.png"
    chains = "ram-a-seed1+ram-r1-seed1"
    assert main(["--folder", str(tmp_path), "--chains", chains, "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["--folder", str(tmp_path), "--chains", "ram-a-seed1+ram-x"]) == 2
    assert "run 'ram-x' of chain 'ram-a-seed1+ram-x' found nowhere under" in capsys.readouterr().err
    write_run(tmp_path, "ram-r1-seed1", "GlimpseEnv-v0", {3: 0.97}, 0.98, 3)
    with pytest.raises(ValueError, match="found 2 times"):
        read_chains(tmp_path, "ram-r1-seed1")
    write_run(tmp_path, "ram-c-seed1", "GlimpseEnv-cluttered60-v0", {1: 0.5}, 0.5, 1)
    with pytest.raises(ValueError, match="must share an env"):
        read_chains(tmp_path, "ram-a-seed1+ram-c-seed1")
