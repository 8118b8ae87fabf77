"""Reference policies and the policy lookup (built-in names, loaders, the RAM checkpoint hook)."""

from __future__ import annotations

import sys
import types

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401
from agents.heuristics import CenterPolicy, FixedScanPolicy, RandomPolicy
from glimpse_env.commands import policies
from glimpse_env.commands.policies import is_torch_checkpoint, load_policy, register_policy_loader
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
        assert "register_policy_loader" in str(err.value)
    other = tmp_path / "notes.txt"
    other.write_text("not a policy")
    with pytest.raises(ValueError, match="no policy loader reads"):
        load_policy(str(other), env())


def test_register_policy_loader_plugs_in_a_format(tmp_path, monkeypatch):
    monkeypatch.setattr(policies, "_LOADERS", list(policies._LOADERS))
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
    assert [loader.name for loader in policies.policy_loaders()][:2] == ["mine", "ram"]


def test_a_torch_checkpoint_loads_through_ram_agent(tmp_path, monkeypatch):
    path = tmp_path / "best.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    assert is_torch_checkpoint(path)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": 1}, legacy, _use_new_zipfile_serialization=False)
    assert is_torch_checkpoint(legacy)

    calls = []

    class FakeRAMAgent:
        @classmethod
        def from_checkpoint(cls, p, device="cpu"):
            calls.append((p, device))
            return CenterPolicy(10)

    monkeypatch.setitem(sys.modules, "agents.ram", types.SimpleNamespace(RAMAgent=FakeRAMAgent))
    assert isinstance(load_policy(str(path), env()), CenterPolicy)
    assert calls == [(str(path), "cpu")]

    monkeypatch.setitem(sys.modules, "agents.ram", None)  # not importable
    with pytest.raises(ValueError, match=r"RAMAgent\.from_checkpoint"):
        load_policy(str(path), env())
