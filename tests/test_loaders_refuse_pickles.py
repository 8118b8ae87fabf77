"""No loader of a checkpoint or policy file runs code from the file.

A crafted file holds an object whose unpickling writes a marker file (the stand-in for any code
an attacker would run), beside the entries of a real checkpoint of each format. Every loader
must refuse it with an error, and the marker must not exist afterwards, also where the
environment makes torch's default unpickle (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``: only an
explicit ``weights_only=True`` protects). The control test shows
the payload is live: ``torch.load(..., weights_only=False)`` writes the marker. A static check
keeps every ``torch.load`` in the packages at ``weights_only=True``. (SB3 zips have their own
tests in ``test_sb3_safe_load.py``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from conftest import REPO

from agents.eig import checkpoint as eig_checkpoint
from agents.explain.vae import FORMAT as VAE_FORMAT
from agents.explain.vae import load_vae
from agents.ram import RAMAgent, baselines
from agents.ram import checkpoint as ram_checkpoint
from agents.ram import train as ram_train
from glimpse_env.commands.policies import load_policy
from glimpse_env.data import ImageDataset


class Payload:
    """Unpickling this runs Python code that writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('the payload ran')",)


def crafted(path: Path, marker: Path, format_tag: str, legacy: bool) -> Path:
    """A checkpoint of ``format_tag`` with every usual entry, plus the payload."""
    entries = {
        "format": format_tag,
        "version": 1,
        "model": {},
        "model_config": {},
        "config": {},
        "state_dict": {},
        "env_id": "GlimpseEnv-v0",
        "env_kwargs": {},
        "epoch": 1,
        "phase": 1,
        "payload": Payload(marker),
    }
    torch.save(entries, path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.fixture(scope="module")
def env():
    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    return gym.make("GlimpseEnv-v0", dataset=ImageDataset(images, torch.arange(4), tuple("0123")))


def train_ram_resume(path: Path, root: Path) -> None:
    """``glimpse-env train ram --resume`` with ``path`` as ``OUT/last.pt``."""
    path.rename(path.with_name("last.pt"))
    args = ram_train.Args(
        data_root=str(root), split="train[:64]", test_split="test[:64]", epochs=2,
        out=str(path.parent), resume=True, progress=False, tensorboard=False, threads=1,
    )  # fmt: skip
    ram_train.train(args)


def train_mlp_resume(path: Path, root: Path) -> None:
    path.rename(path.with_name("last.pt"))
    args = baselines.Args(
        data_root=str(root), split="train[:64]", test_split="test[:64]", epochs=2,
        out=str(path.parent), resume=True, progress=False, tensorboard=False, threads=1,
    )  # fmt: skip
    baselines.train_baseline("mlp", args)


RAM, EIG = ram_checkpoint.CHECKPOINTS.tag, eig_checkpoint.CHECKPOINTS.tag
BASELINE = baselines.CHECKPOINTS.tag

LOADERS = {  # name: (the format tag the crafted file carries, load(path, env, data_root))
    "ram load_checkpoint": (RAM, lambda p, env, root: ram_checkpoint.load_checkpoint(p)),
    "RAMAgent.from_checkpoint": (RAM, lambda p, env, root: RAMAgent.from_checkpoint(p)),
    "eig load_checkpoint": (EIG, lambda p, env, root: eig_checkpoint.load_checkpoint(p)),
    "baseline checkpoint": (BASELINE, lambda p, env, root: baselines.CHECKPOINTS.load(p)),
    "explain VAE": (VAE_FORMAT, lambda p, env, root: load_vae(p)),
    "gif --policy RAM file": (RAM, lambda p, env, root: load_policy(str(p), env)),
    "gif --policy EIG file": (EIG, lambda p, env, root: load_policy(str(p), env)),
    "train ram --resume": (RAM, lambda p, env, root: train_ram_resume(p, root)),
    "train mlp --resume": (BASELINE, lambda p, env, root: train_mlp_resume(p, root)),
}


def test_the_payload_is_live(tmp_path):
    """The control: an unsafe load of the crafted file runs the payload."""
    marker = tmp_path / "ran"
    path = crafted(tmp_path / "crafted.pt", marker, RAM, legacy=False)
    torch.load(path, weights_only=False)
    assert marker.read_text() == "the payload ran"


@pytest.mark.parametrize("torch_default", ["weights-only", "unpickling"])
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
@pytest.mark.parametrize("name", list(LOADERS))
def test_every_loader_refuses_a_crafted_pickle(
    name, legacy, torch_default, env, strip_root, tmp_path, monkeypatch
):
    if torch_default == "unpickling":  # torch.load unpickles unless weights_only=True is passed
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    format_tag, load = LOADERS[name]
    marker = tmp_path / "ran"
    (tmp_path / "run").mkdir()
    path = crafted(tmp_path / "run" / "crafted.pt", marker, format_tag, legacy)
    with pytest.raises(Exception) as err:
        load(path, env, strip_root)
    assert not marker.exists(), f"{name} ran code from the file"
    assert isinstance(err.value, (ValueError, RuntimeError)), f"{name}: {err.value!r}"


def torch_load_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for package in ("glimpse_env", "agents"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("torch", "pickle", "cloudpickle", "dill")
                ):
                    calls.append((f"{path.relative_to(REPO)}", node.lineno, node))
    return calls


# Data files, not checkpoints: CIFAR-10's python batches are pickles by format (torchvision
# reads them the same way); they come from the dataset's own download.
PICKLE_READERS = {"glimpse_env/data/readers.py"}


def test_every_torch_load_in_the_packages_is_weights_only():
    unsafe = []
    for where, line, call in torch_load_calls():
        if call.func.value.id != "torch":
            if where not in PICKLE_READERS:
                unsafe.append(f"{where}:{line} calls {call.func.value.id}.load")
            continue
        flags = {k.arg: k.value for k in call.keywords}
        value = flags.get("weights_only")
        if not (isinstance(value, ast.Constant) and value.value is True):
            unsafe.append(f"{where}:{line} calls torch.load without weights_only=True")
    assert not unsafe, unsafe
