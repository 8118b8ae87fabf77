"""``glimpse-env explain`` end to end on a RAM trained for a few steps in the test."""

from __future__ import annotations

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from agents.explain import load_vae, reconstructions
from agents.explain.figures import GAP, HEADER
from agents.explain.study import main as study_main
from agents.ram.agent import RAMAgent
from agents.ram.train import Args as TrainArgs
from agents.ram.train import train
from glimpse_env.commands import cli


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, shared_data):
    """A RAM trained for one epoch of 4 steps on 256 MNIST images (T = 6, 28x28)."""
    out = tmp_path_factory.mktemp("ram")
    args = TrainArgs(
        env="GlimpseEnv-v0", split="test[:256]", test_split="test[8000:8064]", epochs=1,
        batch_size=64, hidden_size=32, glimpse_hidden=16, glimpse_features=32, out=str(out),
        progress=False, tensorboard=False, seed=0,
    )  # fmt: skip
    train(args)
    return out / "last.pt"


def test_explain_writes_the_pictures_and_numbers(checkpoint, tmp_path, capsys):
    out = tmp_path / "explain"
    argv = [
        "explain", "--checkpoint", str(checkpoint), "--env", "GlimpseEnv-v0",
        "--episodes", "40", "--examples", "3", "--gifs", "2", "--vae-epochs", "1",
        "--test-split", "test[8000:8064]", "--vae-hidden", "64", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    names = {p.name for p in out.iterdir()}
    expected = {"grid.png", "episode-0.gif", "episode-1.gif", "curves.csv", "curves.json", "vae.pt"}
    expected |= {f"{c}.png" for c in ("entropy", "information_gain", "log_p_true", "accuracy")}
    expected |= {"reconstruction_mse.png"}
    assert expected <= names, sorted(names)

    # the grid: a title band, then 3 rows of 28x28 images at zoom 3; 1 + T = 7 columns
    grid = iio.imread(out / "grid.png")
    cell = 28 * 3 + GAP
    assert grid.shape == (HEADER + 3 * cell + GAP, 7 * cell + GAP, 3)
    frames = iio.imread(out / "episode-0.gif", index=None)
    assert frames.shape[0] == 6  # a frame per glimpse

    with (out / "curves.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["glimpse"]) for r in rows] == list(range(7))
    assert float(rows[0]["entropy"]) == pytest.approx(np.log(10))  # H_0 = log n
    assert rows[0]["accuracy"] == "" and 0 <= float(rows[6]["accuracy"]) <= 1
    payload = json.loads((out / "curves.json").read_text())
    assert payload["episodes"] == 40 and payload["command"].startswith("glimpse-env explain")
    gains = np.array(payload["curves"]["information_gain"])
    entropy = np.array(payload["curves"]["entropy"])
    np.testing.assert_allclose(gains, entropy[:-1] - entropy[1:], atol=1e-9)

    # the VAE file loads with weights_only, and a second run reuses it
    torch.load(out / "vae.pt", weights_only=True)
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert "reusing" in capsys.readouterr().out

    # the Python API on the same agent and VAE
    agent = RAMAgent.from_checkpoint(checkpoint)
    vae, meta = load_vae(out / "vae.pt")
    assert meta["identity"]["partial"] is False
    glimpses = torch.rand(2, 6, 1, 8, 8)
    locations = torch.rand(2, 6, 2) * 2 - 1
    recon = reconstructions(agent, vae, glimpses, locations)
    assert recon.shape == (2, 6, 1, 28, 28) and recon.dtype == np.float32
    assert 0.0 <= recon.min() and recon.max() <= 1.0


def test_explain_refuses_a_missing_checkpoint(tmp_path, capsys):
    assert cli.main(["explain", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_study_train_prints_one_command_per_run(tmp_path, capsys):
    argv = [
        "study",
        "train",
        "--out",
        str(tmp_path),
        "--seeds",
        "1,2",
        "--epochs",
        "3",
        "--dry-run",
    ]
    assert cli.main(["explain", *argv]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 * 2 * 2  # envs x rewards x seeds
    assert all(line.startswith("glimpse-env train ram --env ") for line in lines)
    assert sum("--reward correct_entropy" in line and '"beta": 0.5' in line for line in lines) == 4
    assert study_main(["nonsense"]) == 2
