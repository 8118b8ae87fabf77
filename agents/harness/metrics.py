"""The run's metrics: one row per epoch to ``OUT/metrics.csv`` and to TensorBoard.

On resume, rows past the resumed epoch are dropped (and TensorBoard purges its later steps), so
that the files match those of an uninterrupted run.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog"]


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
        self.tensorboard_dir: Path | None = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("tensorboard is not installed: no TensorBoard logs", file=sys.stderr)
            else:
                self.tensorboard_dir = out / "tensorboard"
                self.writer = SummaryWriter(str(self.tensorboard_dir), purge_step=resume_epoch + 1)

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
