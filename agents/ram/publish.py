"""Ship a finished RAM run as its env's pretrained agent (:func:`agents.ram.pretrained.publish`).

``python -m agents.ram.publish --run runs/paper/GlimpseEnv-cluttered60-v0/seed1 --hardware "..."``

Tests the run's checkpoint on its held-out split (fixed canvases, deterministic) and on the
200-image check slice, then writes ``agents/ram/pretrained/<env-id>.pt`` and its entry in
``index.json``: accuracies, training command (rebuilt from the checkpoint's arguments unless
given), hardware, seed, epoch.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.harness import run_command
from agents.ram.checkpoint import load_checkpoint
from agents.ram.pretrained import publish
from agents.ram.train import Args as TrainArgs

__all__ = ["Args", "main", "training_command"]


@dataclass
class Args:
    """Ship a finished RAM run's checkpoint as its env's pretrained agent, with its accuracy."""

    run: str
    """The run's folder (its best.pt is shipped) or a checkpoint file."""
    hardware: str
    """Where the run trained, recorded in index.json (e.g. '2-core Intel Xeon @ 2.00GHz, CPU')."""
    checkpoint: str = "best.pt"
    """Which checkpoint of the run's folder: best.pt or last.pt."""
    command: str | None = None
    """The training command, recorded; default: rebuilt from the checkpoint's arguments."""
    directory: str | None = None
    """The pretrained folder; default the package's agents/ram/pretrained."""
    data_root: str | None = None
    """Where the test data lives; default $GLIMPSE_ENV_DATA."""


def training_command(saved_args: dict[str, Any]) -> str:
    """``glimpse-env train ram`` with the flags of a checkpoint's arguments that differ from
    the defaults (a run trained with others shows its own --env and --seed)."""
    flags = []
    for field in dataclasses.fields(TrainArgs):
        default = field.default if field.default is not dataclasses.MISSING else None
        value = saved_args.get(field.name, default)
        if value == default or field.name in ("resume", "progress", "tensorboard"):
            continue
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{flag[2:]}")
        else:
            flags += [flag, str(value)]
    return shlex.join(["glimpse-env", "train", "ram", *flags])


def run(args: Args) -> None:
    path = Path(args.run)
    checkpoint = path / args.checkpoint if path.is_dir() else path
    command = args.command or training_command(load_checkpoint(checkpoint).get("args", {}))
    entry = publish(checkpoint, command, args.hardware, args.directory, args.data_root)
    print(
        f"published {checkpoint} as the pretrained RAM of {entry.env_id}: test accuracy "
        f"{100 * entry.accuracy:.2f}% on {entry.test_split} ({entry.test_images} images), "
        f"{100 * entry.check_accuracy:.2f}% on {entry.check_split}"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.ram.publish``."""
    return run_command("python -m agents.ram.publish", Args, argv, run)


if __name__ == "__main__":
    sys.exit(main())
