"""Agents and commands plug into ``glimpse-env`` through the registry and entry points."""

from __future__ import annotations

import sys
import textwrap

import imageio.v3 as iio
import pytest

from glimpse_env.commands.cli import main
from glimpse_env.commands.plugins import (
    Agent,
    Command,
    PluginWarning,
    PolicyLoader,
    get_agent,
    register_agent,
    register_command,
)

TOY_AGENT = textwrap.dedent('''
    """A third party's agent: a JSON file says where it looks and what it guesses."""
    import json
    from pathlib import Path

    import numpy as np

    from glimpse_env.commands.plugins import Agent, Command, PolicyLoader, TrainedOn


    class Toy:
        def __init__(self, location, label, num_classes):
            self.location = np.asarray(location, np.float32)
            self.logits = np.zeros(num_classes, np.float32)
            self.logits[label] = 5.0

        def predict(self, obs, state=None, episode_start=None, deterministic=True):
            return {"location": self.location.copy(), "logits": self.logits.copy()}, state


    def train(argv):
        out = Path(argv[argv.index("--out") + 1])
        env_kwargs = {"split": "test[:16]", "num_glimpses": 2}
        model = {"location": [0.5, -0.5], "label": 3, "env": "GlimpseEnv-v0", "kwargs": env_kwargs}
        out.write_text(json.dumps(model))
        return 0


    def can_load(path):
        return path.suffix == ".toy"


    def load(path, env):
        model = json.loads(path.read_text())
        return Toy(model["location"], model["label"], env.unwrapped.core.num_classes)


    def trained_on(path):
        model = json.loads(path.read_text())
        return TrainedOn(model["env"], model["kwargs"])


    def corner(env, seed=None):
        return Toy([-1.0, -1.0], 0, env.unwrapped.core.num_classes)


    def report(argv):
        print("toy report:", *argv)


    AGENT = Agent(
        "toy",
        "a toy agent that always looks at one place",
        train="toy_agent:train",
        loader=PolicyLoader(can_load, load, trained_on),
        policies={"corner": corner},
    )
    REPORT = Command("toy-report", "print a toy report", "toy_agent:report")
    NOT_AN_AGENT = 42
    RAM_AGAIN = Agent("ram", "another ram")
    GIF_AGAIN = Command("gif", "another gif", "toy_agent:report")
''')


def install_distribution(tmp_path, monkeypatch, entry_points: str) -> None:
    """A package ``toy_agent`` with real dist-info metadata declaring ``entry_points``."""
    (tmp_path / "toy_agent.py").write_text(TOY_AGENT)
    dist = tmp_path / "toy_agent-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-agent\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_agent", raising=False)


def one_line(text: str) -> str:
    assert text.count("\n") == 1 and text.endswith("\n"), text
    return text


def test_toy_agent_through_entry_point_metadata(
    plugin_registry, tmp_path, monkeypatch, shared_data, capsys
):
    install_distribution(
        tmp_path,
        monkeypatch,
        """
        [glimpse_env.agents]
        toy = toy_agent:AGENT
        [glimpse_env.commands]
        toy-report = toy_agent:REPORT
        """,
    )
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    assert "a toy agent that always looks at one place" in listing
    train_line = next(line for line in listing.splitlines() if line.strip().startswith("train"))
    assert "toy" in train_line and "ram" in train_line  # beside the project's own agents
    assert "toy-report" in listing and "corner" in listing
    assert main(["train", "--help"]) == 0
    assert "toy            a toy agent" in capsys.readouterr().out

    model = tmp_path / "model.toy"
    assert main(["train", "toy", "--out", str(model)]) == 0
    assert main(["toy-report", "x", "y"]) == 0
    assert "toy report: x y" in capsys.readouterr().out

    gif = tmp_path / "toy.gif"
    assert main(["gif", "--policy", str(model), "--episodes", "1", "--out", str(gif)]) == 0
    # The env the file was trained on: 2 glimpses (the id's own is 6), a reset frame + 2 steps.
    assert iio.imread(gif, index=None).shape[0] == 3
    assert "of GlimpseEnv-v0" in capsys.readouterr().out

    corner = ["gif", "GlimpseEnv-v0", "--policy", "corner", "--out", str(gif), "--episodes", "1"]
    assert main([*corner, "--env-kwargs", '{"split": "test[:16]", "num_glimpses": 1}']) == 0
    assert iio.imread(gif, index=None).shape[0] == 2


def test_broken_entry_points_are_skipped_with_one_warning_each(
    plugin_registry, tmp_path, monkeypatch, capsys
):
    install_distribution(
        tmp_path,
        monkeypatch,
        """
        [glimpse_env.agents]
        missing = no_such_module_here:AGENT
        other_name = toy_agent:AGENT
        number = toy_agent:NOT_AN_AGENT
        ram = toy_agent:RAM_AGAIN
        [glimpse_env.commands]
        gif = toy_agent:GIF_AGAIN
        """,
    )
    with pytest.warns(PluginWarning) as caught:
        assert main(["--help"]) == 0
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 5, messages
    assert any("missing" in m and "no_such_module_here" in m for m in messages)
    assert any("other_name" in m and "names the agent 'toy'" in m for m in messages)
    assert any(
        "number" in m and "42, not a glimpse_env.commands.plugins.Agent" in m for m in messages
    )
    assert any("'ram' is taken by entry point ram" in m for m in messages)  # either comes first
    assert any("GIF_AGAIN" in m and "'gif' is taken by glimpse_env" in m for m in messages)
    assert "ram" in capsys.readouterr().out  # the command line still works


def test_register_agent_reaches_train_eval_and_the_listings(plugin_registry, capsys):
    calls = []

    def train(argv):
        calls.append(argv)
        return 7

    register_agent(Agent("mine", "my agent", train=train, eval=train))
    assert main(["train", "mine", "--epochs", "1"]) == 7
    assert main(["eval", "mine"]) == 7
    assert calls == [["--epochs", "1"], []]
    assert main(["eval", "-h"]) == 0
    assert "mine           my agent" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"already registered .*overwrite=True"):
        register_agent(Agent("mine", "again"))
    register_agent(Agent("mine", "replaced"), overwrite=True)
    assert get_agent("mine").description == "replaced"
    with pytest.raises(ValueError, match="built-in"):
        register_command(Command("gif", "mine", "json:dumps"))


def test_unknown_or_missing_agent_is_one_line_naming_the_known_ones(plugin_registry, capsys):
    assert main(["train", "robot"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "unknown agent 'robot'" in err and "ram" in err and "heuristics" not in err
    assert main(["eval", "ppo"]) == 2
    err = capsys.readouterr().err
    assert "agent 'ppo' has no eval command; agents with one: " in err
    named = err.split("agents with one: ")[1].strip().split(", ")
    assert {"eig", "ram"} <= set(named) and "ppo" not in named and named == sorted(named)
    assert main(["train"]) == 2
    assert "name an agent, one of: " in one_line(capsys.readouterr().err)
    with pytest.raises(ValueError, match=r"unknown agent 'robot'; known agents: .*ram"):
        get_agent("robot")
    register_agent(Agent("ghost", "its code is gone", train="no_such_module_here:main"))
    assert main(["train", "ghost"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "cannot load 'no_such_module_here:main'" in err and "ModuleNotFoundError" in err


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Agent("", "x"), "non-empty word"),
        (lambda: Agent("two words", "x"), "non-empty word"),
        (lambda: Agent("a", "x", train="no_colon"), "'module:attribute'"),
        (lambda: Agent("a", "x", loader=lambda p: True), "PolicyLoader"),
        (lambda: Agent("a", "x", policies={"p": 3}), "policy 'p'"),
        (lambda: PolicyLoader("m:f", load=None), "PolicyLoader.load"),
        (lambda: Command("c", "x", main=None), "main"),
    ],
)
def test_malformed_plugins_are_refused_when_declared(make, match):
    with pytest.raises(ValueError, match=match):
        make()
