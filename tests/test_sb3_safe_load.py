"""Loading an SB3 agent file never runs code from it (crafted zips are refused or ignored)."""

from __future__ import annotations

import base64
import json
import os
import shlex
import zipfile
from pathlib import Path

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import glimpse_env  # noqa: F401  (registers the ids)
from agents.sb3.metadata import METADATA_NAME
from agents.sb3.model_spec import build_space, describe_space
from agents.sb3.policy import SB3Policy, load_policy, save_model
from agents.sb3.train import train_sb3
from glimpse_env.commands.cli import main as cli_main
from glimpse_env.data import ImageDataset


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.fixture(scope="module")
def dataset() -> ImageDataset:
    images = torch.randint(
        0, 256, (20, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    return ImageDataset(images, torch.arange(20) % 10, classes=tuple("0123456789"))


@pytest.fixture(scope="module")
def model_zip(dataset, tmp_path_factory) -> tuple[Path, SB3Policy]:
    """A tiny PPO saved by save_model (one rollout), and the trained policy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = train_sb3(
            "ppo", "GlimpseEnv-v0", 64, env_kwargs={"dataset": dataset}, num_envs=4,
            hyperparams={"n_steps": 16, "batch_size": 32, "n_epochs": 1},
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    path = save_model(run.model, tmp_path_factory.mktemp("sb3") / "ppo.zip", run.metadata)
    return path, run.policy


def rewrite_zip(source: Path, target: Path, members: dict[str, bytes]) -> Path:
    """A copy of the zip ``source`` with ``members`` replaced (or added)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name not in members:
                new.writestr(name, old.read(name))
        for name, data in members.items():
            new.writestr(name, data)
    return target


def poisoned_data(source: Path, marker: Path) -> bytes:
    """SB3's ``data`` member with every serialized entry replaced by the payload."""
    data = json.loads(zipfile.ZipFile(source).read("data"))
    blob = base64.b64encode(cloudpickle.dumps(Payload(marker))).decode()
    for value in data.values():
        if isinstance(value, dict) and ":serialized:" in value:
            value[":serialized:"] = blob
    return json.dumps(data).encode()


def metadata_of(source: Path) -> dict:
    return json.loads(zipfile.ZipFile(source).read(METADATA_NAME))


def test_the_payload_is_live_through_sb3s_own_load(model_zip, tmp_path):
    """The control: SB3's load of the crafted zip runs the shell command."""
    marker = tmp_path / "ran"
    crafted = rewrite_zip(
        model_zip[0], tmp_path / "crafted.zip", {"data": poisoned_data(model_zip[0], marker)}
    )
    with pytest.raises(Exception):  # noqa: B017 (after the payload, SB3 builds from junk)
        PPO.load(crafted)
    assert marker.exists()


def test_a_crafted_zip_without_a_model_description_is_refused(model_zip, tmp_path, capsys):
    marker = tmp_path / "ran"
    meta = metadata_of(model_zip[0])
    del meta["model"]  # as from an older glimpse-env, or an SB3 zip plus a hand-made metadata
    crafted = rewrite_zip(
        model_zip[0],
        tmp_path / "crafted.zip",
        {"data": poisoned_data(model_zip[0], marker), METADATA_NAME: json.dumps(meta).encode()},
    )
    with pytest.raises(ValueError, match="no model description") as err:
        load_policy(crafted)
    assert "\n" not in str(err.value)
    gif = tmp_path / "x.gif"
    split = json.dumps({"split": "test[8000:]"})
    code = cli_main(
        ["gif", "GlimpseEnv-v0", "--env-kwargs", split, "--policy", str(crafted), "--out", str(gif)]
    )
    assert code == 2
    printed = capsys.readouterr().err.strip()
    assert "no model description" in printed and "\n" not in printed
    assert not marker.exists()
    assert not gif.exists()


def test_a_payload_in_data_is_never_read(model_zip, dataset, tmp_path):
    """A current model with a poisoned ``data`` loads from its own metadata and acts the same."""
    marker = tmp_path / "ran"
    crafted = rewrite_zip(
        model_zip[0], tmp_path / "crafted.zip", {"data": poisoned_data(model_zip[0], marker)}
    )
    policy = load_policy(crafted)
    assert not marker.exists()
    env = gym.make("GlimpseEnv-v0", dataset=dataset)
    obs, _ = env.reset(seed=0)
    for key, value in policy.predict(obs)[0].items():
        np.testing.assert_array_equal(value, model_zip[1].predict(obs)[0][key])


@pytest.mark.parametrize(
    ("slot", "name"),
    [
        ("policy_class", "posix:system"),
        ("policy_class", "builtins:eval"),
        ("policy_class", "torch.nn:Linear"),  # trusted module, but not a policy
        ("policy_kwargs", "subprocess:Popen"),
        ("policy_kwargs", "torch.hub:_load_local"),
    ],
)
def test_a_description_naming_other_classes_is_refused(model_zip, tmp_path, slot, name):
    meta = metadata_of(model_zip[0])
    if slot == "policy_class":
        meta["model"]["policy_class"] = name
    else:
        meta["model"]["policy_kwargs"]["activation_fn"] = {":class:": name}
    crafted = rewrite_zip(
        model_zip[0], tmp_path / "crafted.zip", {METADATA_NAME: json.dumps(meta).encode()}
    )
    with pytest.raises(ValueError, match="refusing class") as err:
        load_policy(crafted)
    assert "\n" not in str(err.value) and str(crafted) in str(err.value)


def test_pickled_objects_in_the_weights_are_refused(model_zip, tmp_path):
    marker = tmp_path / "ran"
    weights = tmp_path / "policy.pth"
    torch.save({"mlp.weight": Payload(marker)}, weights)
    crafted = rewrite_zip(
        model_zip[0], tmp_path / "crafted.zip", {"policy.pth": weights.read_bytes()}
    )
    with pytest.raises(ValueError, match=r"policy\.pth is not plain tensors") as err:
        load_policy(crafted)
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_malformed_metadata_is_one_clear_line(model_zip, tmp_path):
    for member, match in (
        (b"{not json", "is not JSON"),
        (json.dumps({"algo": "ppo", "action": "flat", "num_classes": 10, "x": 1}).encode(),
         "unknown fields"),
        (json.dumps({"algo": "ppo"}).encode(), "lacks fields"),
    ):  # fmt: skip
        crafted = rewrite_zip(model_zip[0], tmp_path / "bad.zip", {METADATA_NAME: member})
        with pytest.raises(ValueError, match=match) as err:
            load_policy(crafted)
        assert "\n" not in str(err.value)


def test_spaces_round_trip_through_their_description():
    box = gym.spaces.Box(np.array([0, -1], np.float32), np.array([1, 2], np.float32))
    space = gym.spaces.Dict({"a": box, "b": gym.spaces.Discrete(7, start=1)})
    assert build_space(json.loads(json.dumps(describe_space(space)))) == space
    with pytest.raises(ValueError, match="unknown space"):
        build_space({"type": "Tuple"})
