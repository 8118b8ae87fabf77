"""What every trainer here shares about a run's bookkeeping: metrics files and safe resumption.

- :class:`MetricsLog`: one row per epoch to ``OUT/metrics.csv`` and to TensorBoard; on resume,
  rows past the resumed epoch are dropped so that the files match an uninterrupted run.
- :func:`check_resumable`: refuse to resume a run with arguments that would change its result.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.checkpoints import CheckpointError

__all__ = ["MetricsLog", "check_resumable"]


class MetricsLog:
    """Per-epoch rows to ``OUT/metrics.csv`` and TensorBoard (rows past a resumed epoch go).

    Args:
        out: the run's folder.
        columns: the CSV columns; ``"epoch"`` must be one of them.
        prefix: TensorBoard tag prefix (``"ram"`` gives ``ram/loss``...).
        resume_epoch: the epoch a resumed run continues after (0 for a new run).
        tensorboard: also write TensorBoard scalars (skipped, with a note, if not installed).
    """

    def __init__(
        self,
        out: Path,
        columns: Sequence[str],
        prefix: str,
        resume_epoch: int = 0,
        tensorboard: bool = True,
    ) -> None:
        self.path = out / "metrics.csv"
        self.columns = list(columns)
        self.prefix = prefix
        rows = []
        if resume_epoch > 0 and self.path.is_file():
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= resume_epoch]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("tensorboard is not installed: no TensorBoard logs", file=sys.stderr)
            else:
                self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=resume_epoch + 1)

    def write(self, row: dict[str, Any]) -> None:
        """Append one epoch's row (a value of "" is left out of TensorBoard)."""
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(row)
        if self.writer is not None:
            for key, value in row.items():
                if key != "epoch" and value != "":
                    self.writer.add_scalar(f"{self.prefix}/{key}", value, row["epoch"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def check_resumable(saved: dict[str, Any], args: Any, path: Path, ignore: Iterable[str]) -> None:
    """Refuse to resume a run whose saved arguments differ from ``args`` (a dataclass).

    Args:
        saved: the arguments stored in the checkpoint.
        args: the arguments of this invocation.
        path: the checkpoint (named in the error).
        ignore: fields that do not change the result (progress bars, devices, time limits...).

    Raises:
        CheckpointError: naming every changed argument with its old and new value.
    """
    skip = set(ignore)
    changed = {
        key: (saved.get(key), value)
        for key, value in asdict(args).items()
        if key not in skip and saved.get(key) != value
    }
    if changed:
        details = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise CheckpointError(
            f"cannot resume {path}: it was trained with other arguments ({details}); use the "
            f"same arguments, or another --out"
        )
