"""Pretrained RAMs: publish a run, load it by env id, play it with ``gif --policy pretrained``;
every shipped checkpoint reaches the accuracy its index documents."""

from __future__ import annotations

import json
import shlex

import gymnasium as gym
import pytest
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from agents.ram import RAMAgent
from agents.ram import pretrained as pretrained_module
from agents.ram.evaluate import evaluate, make_test_core
from agents.ram.pretrained import available, check_split, publish
from agents.ram.publish import main as publish_main
from agents.ram.publish import training_command
from agents.ram.train import Args, train
from glimpse_env.commands.cli import main as cli_main
from glimpse_env.commands.policies import policy_env
from glimpse_env.registration import env_kwargs


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = Args(
        env="GlimpseEnv-v0",
        split="test[:128]",
        test_split="test[9800:]",
        epochs=1,
        batch_size=64,
        hidden_size=16,
        glimpse_hidden=8,
        glimpse_features=16,
        seed=3,
        threads=1,
        out=str(out),
        progress=False,
        tensorboard=False,
    )
    train(args)
    return out


def check_accuracy(agent: RAMAgent, split: str) -> float:
    kwargs = env_kwargs(agent.env_id, **{**agent.env_kwargs, "split": split})
    return evaluate(agent.model, make_test_core(kwargs), seed=0).accuracy


def test_a_published_run_loads_by_env_id_and_keeps_its_accuracy(run_folder, tmp_path):
    shipped = tmp_path / "pretrained"
    entry = publish(run_folder / "best.pt", "glimpse-env train ram ...", "a test", shipped)
    assert entry.env_id == "GlimpseEnv-v0" and entry.file == "GlimpseEnv-v0.pt"
    assert entry.test_split == "test[9800:]" and entry.test_images == 200
    assert entry.check_split == "test[9800:10000]" and entry.seed == 3 and entry.epoch == 1
    index = json.loads((shipped / "index.json").read_text())
    assert index["GlimpseEnv-v0"]["accuracy"] == entry.accuracy
    data = torch.load(shipped / entry.file, weights_only=True)
    assert data["env_id"] == "GlimpseEnv-v0" and "optimizer" not in data and "rng" not in data
    assert "device" not in data["env_kwargs"] and data["env_kwargs"]["num_glimpses"] == 6

    agent = RAMAgent.from_pretrained("GlimpseEnv-v0", directory=shipped)
    assert check_accuracy(agent, entry.check_split) == entry.check_accuracy
    env = gym.make("GlimpseEnv-v0", split="test[9800:]")
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(obs)
    assert action["logits"].shape == (10,)
    assert available(shipped)["GlimpseEnv-v0"] == entry


def test_an_id_with_no_pretrained_ram_is_one_clear_line(run_folder, tmp_path):
    with pytest.raises(ValueError, match=r"no pretrained RAM for 'GlimpseEnv-v0'; .* none yet"):
        RAMAgent.from_pretrained("GlimpseEnv-v0", directory=tmp_path)
    publish(run_folder / "best.pt", "cmd", "hw", tmp_path)
    message = r"no pretrained RAM for 'GlimpseEnv-svhn-v0'; pretrained env ids: GlimpseEnv-v0$"
    with pytest.raises(ValueError, match=message):
        RAMAgent.from_pretrained("GlimpseEnv-svhn-v0", directory=tmp_path)


def test_gif_plays_the_pretrained_policy(run_folder, tmp_path, monkeypatch, capsys):
    shipped = tmp_path / "pretrained"
    argv = ["--hardware", "a test", "--directory", str(shipped)]
    assert publish_main(["--run", str(run_folder), *argv]) == 0
    assert "published" in capsys.readouterr().out
    monkeypatch.setattr(pretrained_module, "default_directory", lambda: shipped)
    # The env the pretrained RAM of the id was trained on, on its held-out split.
    for env_id in ("GlimpseEnv-v0", None):
        choice = policy_env("pretrained", env_id, {})
        assert choice.env_id == "GlimpseEnv-v0" and choice.kwargs["split"] == "test[9800:]"
    gif = ["gif", "GlimpseEnv-v0", "--policy", "pretrained", "--episodes", "1"]
    gif += ["--out", str(tmp_path / "a.gif")]
    assert cli_main(gif) == 0
    assert (tmp_path / "a.gif").is_file()
    gif[1] = "GlimpseEnv-translated60-v0"
    assert cli_main(gif) == 2
    assert "no pretrained RAM for 'GlimpseEnv-translated60-v0'" in capsys.readouterr().err


def test_the_recorded_command_trains_the_same_run(run_folder):
    saved = torch.load(run_folder / "best.pt", weights_only=True)["args"]
    command = shlex.split(training_command(saved))
    assert command[:3] == ["glimpse-env", "train", "ram"]
    assert command[command.index("--seed") + 1] == "3"
    assert command[command.index("--hidden-size") + 1] == "16"
    assert "--resume" not in command and "--env" not in command  # defaults are left out


SHIPPED = available()


@pytest.mark.parametrize("env_id", sorted(SHIPPED) or [pytest.param(None, marks=pytest.mark.skip(
    reason="no pretrained RAM is shipped yet"))])  # fmt: skip
def test_every_shipped_checkpoint_reaches_its_documented_accuracy(env_id):
    """Deterministic evaluation on the documented 200-image check slice (fixed canvases, seed
    0) gives the documented accuracy, to one image."""
    entry = SHIPPED[env_id]
    assert entry.check_split == check_split(entry.test_split)
    agent = RAMAgent.from_pretrained(env_id)
    assert agent.env_id == env_id
    assert abs(check_accuracy(agent, entry.check_split) - entry.check_accuracy) <= 1 / 200 + 1e-9
    assert 0.0 < entry.accuracy <= 1.0 and entry.test_images >= 200
