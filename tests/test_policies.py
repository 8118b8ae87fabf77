"""Policies by name and by file, their loaders, and the env a policy file acts in (``gif``)."""

from __future__ import annotations

import sys

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401
from agents.heuristics import CenterPolicy, FixedScanPolicy, RandomPolicy
from glimpse_env.commands.cli import main
from glimpse_env.commands.plugins import TrainedOn
from glimpse_env.commands.policies import (
    DEFAULT_ENV,
    EnvChoice,
    find_loader,
    is_torch_checkpoint,
    load_policy,
    policy_env,
    policy_trained_on,
    register_policy_loader,
)
from glimpse_env.data import ImageDataset

CLASSES = tuple("0123456789")


def env(**kwargs) -> gym.Env:
    data = ImageDataset(torch.zeros(3, 1, 28, 28, dtype=torch.uint8), torch.arange(3), CLASSES)
    return gym.make("GlimpseEnv-v0", dataset=data, **kwargs)


def observation(batch: int | None = None) -> dict[str, np.ndarray]:
    lead = () if batch is None else (batch,)
    return {
        "glimpse": np.zeros((*lead, 1, 8, 8), np.float32),
        "location": np.zeros((*lead, 2), np.float32),
    }


def test_heuristics_act_in_the_env():
    for spec in ("random", "center", "scan"):
        for early_stop in (False, True):
            e = env(early_stop=early_stop)
            policy = load_policy(spec, e, seed=0)
            obs, _ = e.reset(seed=0)
            state, done = None, False
            while not done:
                action, state = policy.predict(obs, state, np.array([False]))
                assert e.action_space.contains(action)
                obs, _, done, _, _ = e.step(action)


def test_center_and_random():
    action, _ = CenterPolicy(10).predict(observation())
    assert action["location"].tolist() == [0.0, 0.0]
    assert action["logits"].dtype == np.float32 and not action["logits"].any()
    a, _ = RandomPolicy(10, seed=1).predict(observation(batch=64))
    b, _ = RandomPolicy(10, seed=1).predict(observation(batch=64))
    assert a["location"].shape == (64, 2) and a["logits"].shape == (64, 10)
    np.testing.assert_array_equal(a["location"], b["location"])
    assert np.abs(a["location"]).max() <= 1 and a["location"].std() > 0.3


def test_fixed_scan_follows_its_sequence_and_restarts():
    scan = [(-1.0, -1.0), (0.0, 0.5), (1.0, 1.0)]
    policy = FixedScanPolicy(scan, num_classes=10)
    seen, state = [], None
    for _ in range(4):
        action, state = policy.predict(observation(), state)
        seen.append(tuple(action["location"].tolist()))
    assert seen == [*scan, scan[0]]
    action, state = policy.predict(observation(), state, episode_start=np.array([True]))
    assert tuple(action["location"].tolist()) == scan[0]
    batch, state = policy.predict(observation(2), np.array([0, 1]), np.array([False, True]))
    assert batch["location"].tolist() == [list(scan[0]), list(scan[0])]
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        FixedScanPolicy([(2.0, 0.0)])


def test_unknown_spec_and_missing_file_list_the_accepted_forms(tmp_path):
    for spec in ("nonsense", str(tmp_path / "missing.pt")):
        with pytest.raises(ValueError, match="accepted: 'random', 'center', 'scan'") as err:
            load_policy(spec, env())
        assert "register_agent" in str(err.value) and "loaders: " in str(err.value)
    other = tmp_path / "notes.txt"
    other.write_text("not a policy")
    with pytest.raises(ValueError, match="no policy loader reads"):
        load_policy(str(other), env())


def test_register_policy_loader_plugs_in_a_format_asked_first(plugin_registry, tmp_path):
    model = tmp_path / "model.zip"
    model.write_bytes(b"PK-not-really")
    made = []

    def load(path, e):
        made.append((path, e))
        return CenterPolicy(10)

    register_policy_loader("mine", lambda p: p.suffix == ".zip", load)
    e = env()
    assert isinstance(load_policy(str(model), e), CenterPolicy)
    assert made == [(model, e)]
    assert plugin_registry.policy_loaders()[0][0] == "mine"
    assert find_loader(model)[0] == "mine"
    register_policy_loader("later", lambda p: True, load)  # the latest is asked first
    assert find_loader(model)[0] == "later"
    register_policy_loader("ram", is_torch_checkpoint, load)  # a new loader, same agent
    ram = plugin_registry.get_agent("ram")
    assert ram.loader.load is load and ram.train == "agents.ram.train:main"


def ram_checkpoint(path, glimpse_shape=(1, 8, 8), **env_kwargs):
    """A small untrained RAM saved as ``glimpse-env train ram`` saves it."""
    from agents.ram.checkpoint import save_checkpoint
    from agents.ram.model import RAMConfig, RecurrentAttentionModel

    config = RAMConfig(glimpse_shape=glimpse_shape, glimpse_hidden=8, location_hidden=8,
                       glimpse_features=16, hidden_size=16)  # fmt: skip
    payload = {
        "model_config": config.to_dict(),
        "model": RecurrentAttentionModel(config).state_dict(),
        "env_id": "GlimpseEnv-v0",
        "env_kwargs": env_kwargs,
        "test_split": "test[8000:8016]",
        "epoch": 1,
    }
    save_checkpoint(path, payload)
    return path


def test_torch_checkpoints_go_to_their_agent_and_refuse_other_glimpses(tmp_path, monkeypatch):
    from agents.ram import RAMAgent

    path = ram_checkpoint(tmp_path / "best.pt")
    assert is_torch_checkpoint(path) and find_loader(path)[0] == "ram"
    assert isinstance(load_policy(str(path), env()), RAMAgent)
    with pytest.raises(ValueError, match=r"glimpses \(1, 8, 8\), 10 classes\); this env gives "
                       r"glimpses \(1, 12, 12\)"):  # fmt: skip
        load_policy(str(path), env(patch_size=12))
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": 1}, legacy, _use_new_zipfile_serialization=False)
    assert is_torch_checkpoint(legacy)
    with pytest.raises(ValueError, match="is not a glimpse-env RAM checkpoint"):
        load_policy(str(legacy), env())  # a foreign torch file: RAM's loader says what it is
    monkeypatch.setitem(sys.modules, "agents.ram", None)  # not importable
    with pytest.raises(ImportError, match=r"agents\.ram"):
        load_policy(str(path), env())


def test_policy_env_is_the_files_training_env_under_the_users_choices(plugin_registry, tmp_path):
    path = str(ram_checkpoint(tmp_path / "best.pt", num_glimpses=3, split="test[:8000]",
                              device="cuda", data_root="/elsewhere"))  # fmt: skip
    trained = policy_trained_on(path)
    assert (trained.env_id, trained.test_split) == ("GlimpseEnv-v0", "test[8000:8016]")
    choice = policy_env(path, None, {})
    # The file's id and kwargs, its test split, and nothing of the machine it was trained on.
    assert choice == EnvChoice("GlimpseEnv-v0", {"num_glimpses": 3, "split": "test[8000:8016]"})
    assert policy_env(path, "GlimpseEnv-v0", {"split": "test"}).kwargs["split"] == "test"
    changed = policy_env(path, None, {"num_glimpses": 5})
    assert changed.kwargs["num_glimpses"] == 5
    assert changed.note == f"note: {path} was trained on GlimpseEnv-v0; this env has " \
        "num_glimpses=5 (trained 3)"  # fmt: skip
    other = policy_env(path, "GlimpseEnv-translated60-v0", {"split": "test"})
    assert other.kwargs == {"split": "test"}  # another id: its own kwargs, not the file's
    assert policy_env(path, "GlimpseEnv-fashion-v0", {}).kwargs == {"split": "test[8000:8016]"}
    no_test_split = TrainedOn("GlimpseEnv-v0", {"split": "test[:8000]", "num_glimpses": 3})
    register_policy_loader("ram", is_torch_checkpoint, lambda p, e: None, lambda p: no_test_split)
    assert policy_env(path, "GlimpseEnv-fashion-v0", {}).kwargs == {"split": "test[:8000]"}
    assert "canvas_size=60 (trained None)" in other.note
    assert policy_env("center", None, {"split": "test"}) == EnvChoice(
        DEFAULT_ENV, {"split": "test"}
    )


def gif_command(tmp_path, checkpoint, *extra: str) -> list[str]:
    out = tmp_path / "sub" / "x.gif"
    return ["gif", "--policy", str(checkpoint), "--episodes", "1", "--out", str(out), *extra]


def test_gif_plays_a_checkpoint_on_the_env_it_was_trained_on(tmp_path, shared_data, capsys):
    # Trained on 12x12 glimpses, 3 of them, on another machine: GlimpseEnv-v0 gives 8x8 and 6.
    checkpoint = ram_checkpoint(tmp_path / "best.pt", glimpse_shape=(1, 12, 12), patch_size=12,
                                num_glimpses=3, device="cuda", data_root="/elsewhere")  # fmt: skip
    assert main(gif_command(tmp_path, checkpoint)) == 0
    assert iio.imread(tmp_path / "sub" / "x.gif", index=None).shape[0] == 3 + 1
    captured = capsys.readouterr()
    assert "1 episodes of GlimpseEnv-v0" in captured.out and captured.err == ""


@pytest.mark.parametrize(
    "extra",
    [
        ["--env", "GlimpseEnv-v0", "--env-kwargs", '{"patch_size": 8}'],  # over the file's
        ["--env", "GlimpseEnv-translated60-v0"],  # another id: its own kwargs
    ],
)
def test_gif_refuses_a_checkpoint_on_other_glimpses_in_one_line(
    tmp_path, shared_data, capsys, extra
):
    checkpoint = ram_checkpoint(tmp_path / "best.pt", glimpse_shape=(1, 12, 12), patch_size=12)
    assert main(gif_command(tmp_path, checkpoint, *extra)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"glimpse-env gif: error: {checkpoint} was trained on GlimpseEnv-v0 (glimpses " \
        "(1, 12, 12), 10 classes); this env gives glimpses" in err  # fmt: skip
    assert not (tmp_path / "sub").exists()  # nothing made before the arguments were valid


def test_gif_notes_what_differs_from_the_training_env(tmp_path, shared_data, capsys):
    checkpoint = ram_checkpoint(tmp_path / "best.pt", num_glimpses=3)
    assert main(gif_command(tmp_path, checkpoint, "--env-kwargs", '{"num_glimpses": 2}')) == 0
    assert iio.imread(tmp_path / "sub" / "x.gif", index=None).shape[0] == 2 + 1
    err = capsys.readouterr().err
    assert err == f"note: {checkpoint} was trained on GlimpseEnv-v0; this env has " \
        "num_glimpses=2 (trained 3)\n"  # fmt: skip


def test_a_named_policy_can_say_which_env_it_was_trained_on(plugin_registry):
    from glimpse_env.commands.plugins import Agent, register_agent

    trained = TrainedOn("GlimpseEnv-v0", {"num_glimpses": 4}, test_split="test[9000:]")
    register_agent(Agent("mine", "a test", policies={"mine": "agents.plugins:center_policy"},
                         policy_envs={"mine": lambda env_id: trained}))  # fmt: skip
    assert policy_env("mine", None, {}) == EnvChoice(
        "GlimpseEnv-v0", {"num_glimpses": 4, "split": "test[9000:]"}
    )
    with pytest.raises(ValueError, match="policy_envs names 'other', which is not one of its"):
        Agent("bad", "a test", policies={"mine": "m:f"}, policy_envs={"other": "m:g"})
    register_agent(Agent("odd", "a test", policies={"odd": "agents.plugins:center_policy"},
                         policy_envs={"odd": lambda env_id: "GlimpseEnv-v0"}))  # fmt: skip
    with pytest.raises(ValueError, match="the trained_on of policy 'odd' returned 'GlimpseEnv-v0'"):
        policy_env("odd", None, {})
