"""What a running grid shows: a bar over its cells, and each running cell's training progress.

A cell can train for an hour. Agents whose function takes a ``progress`` keyword (every
built-in one that trains: all but ``chance``) call it with each point of their learning curve; the
runner hands them a :class:`CellProgressFile`, which writes the cell's latest point to
``OUT/running/AGENT_ENV_seedSEED_....json`` (atomically, so a reader never sees half a file).
The grid's process reads those files once a second and prints a line each time a cell passes
another tenth of its budget; the file is removed when the cell is recorded. With
``--no-progress`` nothing is printed, and the files still say where each cell is::

    cat runs/bench/running/*.json

>>> print(progress_line({"agent": "ppo", "env_id": "GlimpseEnv-v0", "seed": 1,
...     "budget": 50000, "started_at": 0.0, "updated_at": 1500.0,
...     "point": {"env_steps": 25000, "accuracy": 0.8125, "return": 0.8125, "episodes": 64}}))
running ppo on GlimpseEnv-v0 seed 1: 25,000 / 50,000 env steps (50%), train accuracy 0.812 (25 min)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agents.benchmark.cells import CellSpec
from agents.benchmark.report import write_atomic
from agents.learning_curve import Point

__all__ = [
    "CellProgressFile",
    "GridProgress",
    "clear_running",
    "progress_line",
    "read_running",
    "running_path",
]

Record = dict[str, Any]
Snapshot = dict[str, Any]
"""A running cell's file: ``{"key", "agent", "env_id", "seed", "budget", "started_at",
"updated_at", "point"}`` (``point``: its learning curve's latest point)."""


def running_path(folder: str | os.PathLike, key: str) -> Path:
    """The progress file of the cell ``key`` in ``folder`` (the key's ``/`` become ``_``)."""
    return Path(folder) / (key.replace("/", "_").replace(":", "-") + ".json")


@dataclass(frozen=True)
class CellProgressFile:
    """The ``progress`` callable handed to a cell: writes its latest curve point to a file.

    Picklable (the grid's worker processes receive it with the cell).

    Attributes:
        path: the file (see :func:`running_path`).
        key, agent, env_id, seed, budget: the cell.
        started_at: Unix time the cell started (set by :meth:`for_cell`).
    """

    path: str
    key: str
    agent: str
    env_id: str
    seed: int
    budget: int
    started_at: float

    @classmethod
    def for_cell(cls, spec: CellSpec, folder: str | os.PathLike) -> CellProgressFile:
        """The file of ``spec``'s cell in ``folder``, started now."""
        path = str(running_path(folder, spec.key))
        return cls(path, spec.key, spec.agent, spec.env_id, spec.seed, spec.budget, time.time())

    def snapshot(self, point: Point) -> Snapshot:
        """What the file holds after ``point``."""
        return {
            "key": self.key,
            "agent": self.agent,
            "env_id": self.env_id,
            "seed": self.seed,
            "budget": self.budget,
            "started_at": self.started_at,
            "updated_at": time.time(),
            "point": dict(point),
        }

    def __call__(self, point: Point) -> None:
        write_atomic(self.path, json.dumps(self.snapshot(point)))


def read_running(folder: str | os.PathLike, keys: Iterable[str]) -> list[Snapshot]:
    """The progress files of the cells ``keys`` in ``folder`` (missing or unreadable: left out)."""
    snapshots = []
    for key in keys:
        try:
            snapshots.append(json.loads(running_path(folder, key).read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return snapshots


def clear_running(folder: str | os.PathLike, keys: Iterable[str]) -> None:
    """Remove the progress files of the cells ``keys`` (finished, or left by a killed run)."""
    for key in keys:
        running_path(folder, key).unlink(missing_ok=True)


def progress_line(snapshot: Snapshot) -> str:
    """``running AGENT on ENV seed S: STEPS / BUDGET env steps (P%), train accuracy A (M min)``."""
    point, budget = snapshot["point"], max(int(snapshot["budget"]), 1)
    steps = int(point["env_steps"])
    minutes = (snapshot["updated_at"] - snapshot["started_at"]) / 60
    return (
        f"running {snapshot['agent']} on {snapshot['env_id']} seed {snapshot['seed']}: "
        f"{steps:,} / {budget:,} env steps ({100 * steps // budget}%), "
        f"train accuracy {float(point['accuracy']):.3f} ({minutes:.0f} min)"
    )


class GridProgress:
    """A progress bar of the grid (done, running, failed), a line per finished cell, and a line
    each time a running cell passes another tenth of its budget.

    Args:
        total: cells in the grid.
        skipped: cells already done in an earlier run.
        enabled: False prints nothing.
    """

    def __init__(self, total: int, skipped: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled
        self.done, self.failed, self.running = skipped, 0, 0
        self._tenths: dict[str, int] = {}
        self.bar = tqdm(
            total=total, initial=skipped, desc="cells", unit="cell", disable=not enabled
        )
        self._show()

    def _show(self) -> None:
        self.bar.set_postfix(done=self.done, running=self.running, failed=self.failed)

    def set_running(self, running: int) -> None:
        if running != self.running:
            self.running = running
            self._show()

    def cell_progress(self, snapshot: Snapshot) -> None:
        """A running cell's latest point: a line when it has passed another tenth of its budget
        since the last line (the first line at the first tenth)."""
        steps, budget = int(snapshot["point"]["env_steps"]), max(int(snapshot["budget"]), 1)
        tenth = min(10 * steps // budget, 10)
        if tenth > self._tenths.get(snapshot["key"], 0):
            self._tenths[snapshot["key"]] = tenth
            if self.enabled:
                self.bar.write(progress_line(snapshot))

    def finished(self, record: Record) -> None:
        self.done += 1
        ok = record["status"] == "ok"
        self.failed += not ok
        if self.enabled:
            cell = f"{record['agent']} on {record['env_id']} seed {record['seed']}"
            if ok:
                line = (
                    f"ok     {cell}: accuracy {record['accuracy']:.4f}, return "
                    f"{record['mean_return']:.4f} ({record['wall_time_s']:.0f} s)"
                )
            else:
                line = f"FAILED {cell}: {record['error']}"
            self.bar.write(line)
        self._show()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
