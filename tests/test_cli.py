"""The command-line plumbing: dataclass flags and the command table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from glimpse_env.commands.cli import main
from glimpse_env.commands.cli_args import field_docs, parse_args


@dataclass
class Args:
    """Train something."""

    env: str = "GlimpseEnv-v0"
    """The environment id."""
    epochs: int = 10
    """Passes over the data."""
    lr: float = 1e-3
    """Learning rate."""
    cuda: bool = False
    """Use the GPU."""
    limit: int | None = None
    """Stop after this many steps (none: no limit)."""
    core: Literal["rnn", "lstm"] = "rnn"
    """Recurrent core."""


def test_field_docstrings_become_help():
    assert field_docs(Args)["epochs"] == "Passes over the data."


def test_flags_parse_into_the_dataclass():
    args = parse_args(Args, ["--epochs", "3", "--lr", "0.5", "--cuda", "--limit", "7",
                             "--core", "lstm"])  # fmt: skip
    assert args == Args(epochs=3, lr=0.5, cuda=True, limit=7, core="lstm")
    assert parse_args(Args, ["--limit", "none", "--no-cuda"]) == Args()


def test_bad_flags_exit_with_usage(capsys):
    with pytest.raises(SystemExit):
        parse_args(Args, ["--core", "gru"])
    assert "invalid choice" in capsys.readouterr().err


def test_help_lists_commands_agents_and_policies(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: glimpse-env" in out
    for command in ("gif", "play", "train", "eval", "explain", "bench"):
        assert f"\n  {command} " in out
    assert "ram | recurrent_ppo" in out  # train's agents, from the project's entry points
    assert "gif --policy: random | center | scan | pretrained, or a file read by: " in out
    assert main(["train", "--help"]) == 0
    assert "usage: glimpse-env train AGENT" in capsys.readouterr().out


def test_unknown_command_and_agent(capsys):
    assert main(["fly"]) == 2
    err = capsys.readouterr().err
    assert err == "glimpse-env: unknown command 'fly'; commands: gif, play, train, eval, bench, " \
        "explain\n"  # fmt: skip
    assert main(["train", "robot"]) == 2
    err = capsys.readouterr().err
    assert "unknown agent 'robot'; agents with a train command: " in err
    named = err.split("agents with a train command: ")[1].strip().split(", ")
    assert {"a2c", "cnn", "ram", "eig"} <= set(named) and named == sorted(named)


def test_commands_reach_their_mains(plugin_registry, monkeypatch):
    """train/eval AGENT and the plugin commands call the registered main with the rest of argv."""
    calls = []
    for name in ("agents.ram.train", "agents.ram.evaluate", "agents.benchmark.cli"):
        module = pytest.importorskip(name)
        monkeypatch.setattr(module, "main", lambda argv, n=name: calls.append((n, argv)) or 3)
    assert main(["train", "ram", "--epochs", "1"]) == 3
    assert main(["eval", "ram"]) == 3
    assert main(["bench", "-x"]) == 3
    assert calls == [
        ("agents.ram.train", ["--epochs", "1"]),
        ("agents.ram.evaluate", []),
        ("agents.benchmark.cli", ["-x"]),
    ]
