"""Pretrained RAMs shipped with the package, one per env id, and how they get there.

The folder ``agents/ram/pretrained/`` (package data) holds ``index.json`` and one checkpoint per
env id, ``<env-id>.pt``: an ordinary RAM checkpoint (``torch.load(..., weights_only=True)``) with
the weights, the model config, the env id and the env kwargs it was trained on (without the
machine's device and data root), its training arguments and epoch, and no optimiser state.
``index.json`` documents each: the deterministic test accuracy on the held-out split with fixed
canvases, the accuracy on a 200-image check slice (which the tests reproduce), the training
command, the hardware, the seed and the epoch.

>>> from agents.ram import RAMAgent
>>> agent = RAMAgent.from_pretrained("GlimpseEnv-cluttered60-v0")
>>> agent.env_id, available()["GlimpseEnv-cluttered60-v0"].test_split
('GlimpseEnv-cluttered60-v0', 'test[8000:]')

:func:`publish` (``python -m agents.ram.publish --run RUN_FOLDER --hardware ...``) copies a
finished run's checkpoint into the folder after measuring it.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch

from agents.ram.checkpoint import load_checkpoint, load_model, save_checkpoint
from agents.ram.envs import env_kwargs as registered_env_kwargs
from agents.ram.evaluate import evaluate, make_test_core
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, parse_split

__all__ = [
    "CHECK_IMAGES",
    "PretrainedEntry",
    "available",
    "check_split",
    "default_directory",
    "pretrained_path",
    "pretrained_policy",
    "pretrained_trained_on",
    "publish",
]

INDEX = "index.json"
CHECK_IMAGES = 200
"""Images of the check slice whose accuracy ``index.json`` records and the tests reproduce."""
MACHINE_LOCAL = ("device", "data_root")
"""Env kwargs of the machine a run trained on, not of its task: not shipped."""


def default_directory() -> Path:
    """``agents/ram/pretrained`` where the package is installed."""
    return Path(str(files("agents.ram").joinpath("pretrained")))


@dataclass(frozen=True)
class PretrainedEntry:
    """What ``index.json`` says about one shipped checkpoint.

    Attributes:
        env_id: the env it was trained on (and is for).
        file: the checkpoint's name in the folder.
        test_split: the held-out split it was tested on (fixed canvases, deterministic).
        test_images: images in that split.
        accuracy: its deterministic test accuracy there (``glimpse-env eval ram``, seed 0).
        check_split: a slice of ``CHECK_IMAGES`` images of the test split.
        check_accuracy: its accuracy on the check slice (what the tests reproduce).
        epoch: the training epoch of the weights.
        seed: the run's seed.
        command: the command that trained it.
        hardware: where it trained.
        source: the checkpoint it was copied from.
        published: the date it was copied (ISO).
    """

    env_id: str
    file: str
    test_split: str
    test_images: int
    accuracy: float
    check_split: str
    check_accuracy: float
    epoch: int
    seed: int
    command: str
    hardware: str
    source: str
    published: str


def available(directory: str | Path | None = None) -> dict[str, PretrainedEntry]:
    """The shipped checkpoints by env id (empty when none is shipped)."""
    index = Path(directory or default_directory()) / INDEX
    if not index.is_file():
        return {}
    data = json.loads(index.read_text())
    return {env_id: PretrainedEntry(**entry) for env_id, entry in sorted(data.items())}


def pretrained_path(env_id: str, directory: str | Path | None = None) -> Path:
    """The shipped checkpoint of ``env_id``.

    Raises:
        ValueError: none is shipped for that id (the message lists those that are).
    """
    folder = Path(directory or default_directory())
    entry = available(folder).get(env_id)
    if entry is None or not (folder / entry.file).is_file():
        known = ", ".join(available(folder)) or "none yet"
        raise ValueError(f"no pretrained RAM for {env_id!r}; pretrained env ids: {known}")
    return folder / entry.file


def pretrained_policy(env: Any, seed: int | None = None) -> Any:
    """``--policy pretrained``: the shipped RAM of the env's id, as a policy for ``env``.

    Raises:
        ValueError: the env was not made by id, none is shipped for its id, or the env gives
            other glimpses than the checkpoint's.
    """
    from agents.plugins import load_ram

    spec = getattr(env, "spec", None) or getattr(getattr(env, "unwrapped", env), "spec", None)
    if spec is None:
        raise ValueError("--policy pretrained needs an env made by id (gym.make('GlimpseEnv-...'))")
    return load_ram(pretrained_path(spec.id), env)


def pretrained_trained_on(env_id: str) -> Any:
    """The :class:`~glimpse_env.commands.plugins.TrainedOn` of the shipped RAM of ``env_id``:
    the env it was trained on and the held-out split it was tested on.

    ``glimpse-env gif ID --policy pretrained`` and ``play`` use it to show the held-out images.

    Raises:
        ValueError: none is shipped for ``env_id`` (the message lists those that are).
    """
    from agents.plugins import ram_trained_on

    trained = ram_trained_on(pretrained_path(env_id))
    return replace(trained, test_split=available()[env_id].test_split)


def check_split(test_split: str, images: int = CHECK_IMAGES) -> str:
    """The first ``images`` images of ``test_split``: ``"test[8000:]"`` -> ``"test[8000:8200]"``."""
    base, part = parse_split(test_split)
    start = part.start or 0
    stop = start + images if part.stop is None else min(part.stop, start + images)
    return f"{base}[{start}:{stop}]"


def _accuracy(model: torch.nn.Module, kwargs: dict[str, Any], split: str) -> tuple[float, int]:
    core = make_test_core({**kwargs, "split": split})
    return evaluate(model, core, seed=0).accuracy, core.num_images


def publish(
    checkpoint: str | Path,
    command: str,
    hardware: str,
    directory: str | Path | None = None,
    data_root: str | None = None,
) -> PretrainedEntry:
    """Measure a run's checkpoint and ship it as its env's pretrained RAM.

    The model is tested (deterministic, fixed canvases, seed 0) on the checkpoint's test split
    and on its check slice; the checkpoint, stripped of optimiser and RNG state and of the
    machine-local kwargs, is written to ``DIRECTORY/<env-id>.pt`` and ``index.json`` updated
    (both atomically). A checkpoint already shipped for that id is replaced.

    Args:
        checkpoint: ``best.pt`` or ``last.pt`` of a finished run.
        command: the command that trained it (recorded).
        hardware: where it trained (recorded).
        directory: the pretrained folder; default the package's.
        data_root: where the test data lives (default $GLIMPSE_ENV_DATA).
    """
    folder = Path(directory or default_directory())
    data = load_checkpoint(checkpoint)
    model = load_model(data, "cpu", source=str(checkpoint))
    env_id = str(data["env_id"])
    shipped_kwargs = {k: v for k, v in data["env_kwargs"].items() if k not in MACHINE_LOCAL}
    local = {"device": "cpu", **({"data_root": data_root} if data_root else {})}
    kwargs = registered_env_kwargs(env_id, **{**shipped_kwargs, **local})
    test_split = str(data.get("test_split") or SHARED_TEST_SPLIT)
    accuracy, test_images = _accuracy(model, kwargs, test_split)
    check = check_split(test_split)
    check_accuracy, _ = _accuracy(model, kwargs, check)
    entry = PretrainedEntry(
        env_id=env_id,
        file=f"{env_id}.pt",
        test_split=test_split,
        test_images=test_images,
        accuracy=accuracy,
        check_split=check,
        check_accuracy=check_accuracy,
        epoch=int(data["epoch"]),
        seed=int(data.get("args", {}).get("seed", -1)),
        command=command,
        hardware=hardware,
        source=str(checkpoint),
        published=datetime.date.today().isoformat(),
    )
    keep = ("model_config", "model", "env_id", "test_split", "epoch", "args")
    save_checkpoint(
        folder / entry.file,
        {**{k: data[k] for k in keep if k in data}, "env_kwargs": shipped_kwargs},
    )
    index = {env: asdict(e) for env, e in available(folder).items()}
    index[env_id] = asdict(entry)
    tmp = folder / f".{INDEX}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    os.replace(tmp, folder / INDEX)
    return entry
