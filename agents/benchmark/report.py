"""The benchmark's outputs: a markdown table (mean ± std over seeds) and learning-curve plots.

Both are written atomically (to a temporary file, then ``os.replace``), so a reader never sees a
half-written table or picture.
"""

from __future__ import annotations

import io
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SummaryRow",
    "hardware_description",
    "markdown_table",
    "plot_curves",
    "report_markdown",
    "summarize",
    "write_atomic",
]

Record = dict[str, Any]


@dataclass(frozen=True)
class SummaryRow:
    """One (env, agent) row: statistics over its seeds' ``ok`` cells (None where none)."""

    env_id: str
    agent: str
    cells: int
    ok: int
    accuracy: tuple[float, float] | None
    mean_return: tuple[float, float] | None
    steps_per_s: float | None
    wall_time_s: float | None
    env_steps: float | None
    per_seed: tuple[tuple[int, float], ...] = ()
    """``(seed, test accuracy)`` of each ``ok`` cell, by seed."""


def _mean_std(values: Sequence[float]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (0 for one value); None for no values."""
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def summarize(
    records: Sequence[Record],
    agents: Sequence[str],
    envs: Sequence[str],
    seeds: int | None = None,
) -> list[SummaryRow]:
    """Rows for every env (outer) and agent (inner), in the order given.

    ``seeds``: the cells asked per row (``cells``); default: the records found for it.
    """
    rows = []
    for env_id in envs:
        for agent in agents:
            cells = [r for r in records if r["agent"] == agent and r["env_id"] == env_id]
            ok = [r for r in cells if r["status"] == "ok"]
            trained = [r for r in ok if r["env_steps"] > 0 and r["train_time_s"] > 0]
            rows.append(
                SummaryRow(
                    env_id=env_id,
                    agent=agent,
                    cells=len(cells) if seeds is None else seeds,
                    ok=len(ok),
                    accuracy=_mean_std([r["accuracy"] for r in ok]),
                    mean_return=_mean_std([r["mean_return"] for r in ok]),
                    steps_per_s=_mean([r["env_steps"] / r["train_time_s"] for r in trained]),
                    wall_time_s=_mean([r["wall_time_s"] for r in ok]),
                    env_steps=_mean([r["env_steps"] for r in ok]),
                    per_seed=tuple(sorted((r["seed"], r["accuracy"]) for r in ok)),
                )
            )
    return rows


def _pm(value: tuple[float, float] | None, seeds: int, digits: int = 3) -> str:
    """``mean ± std``; the mean alone for one seed (no spread to show)."""
    if value is None:
        return "–"
    return f"{value[0]:.{digits}f}" + (f" ± {value[1]:.{digits}f}" if seeds > 1 else "")


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _per_seed(row: SummaryRow) -> str:
    return ", ".join(f"{seed}: {accuracy:.3f}" for seed, accuracy in row.per_seed) or "–"


def markdown_table(rows: Sequence[SummaryRow]) -> str:
    """The results as a GitHub markdown table (one row per env and agent)."""
    lines = [
        "| env | agent | test accuracy | test return | per seed (seed: accuracy) "
        "| train env steps | env steps/s | wall time / cell (s) | seeds ok |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.env_id} | {row.agent} | {_pm(row.accuracy, row.ok)} "
            f"| {_pm(row.mean_return, row.ok)} "
            f"| {_per_seed(row)} | {_num(row.env_steps, ',.0f')} "
            f"| {_num(row.steps_per_s, ',.0f')} | {_num(row.wall_time_s, '.0f')} "
            f"| {row.ok}/{row.cells} |"
        )
    return "\n".join(lines)


def hardware_description(workers: int) -> str:
    """CPU model, cores, OS, torch version and the worker count, on one line."""
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}, {workers} worker(s)"
    )


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with tempfile.NamedTemporaryFile(
        mode, dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as f:
        f.write(data)
        temporary = f.name
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # the temporary file is private; the result need not be
    os.replace(temporary, path)


def _curve_band(curves: Sequence[Sequence[dict[str, Any]]], key: str):
    """Seeds' curves on a shared step grid: ``(steps, mean, std)``; None without points."""
    curves = [c for c in curves if c]
    if not curves:
        return None
    end = min(c[-1]["env_steps"] for c in curves)
    steps = np.unique(np.concatenate([[p["env_steps"] for p in c] for c in curves]))
    steps = steps[steps <= end]
    values = np.stack(
        [np.interp(steps, [p["env_steps"] for p in c], [p[key] for p in c]) for c in curves]
    )
    return steps, values.mean(0), values.std(0)


def plot_curves(
    records: Sequence[Record],
    agents: Sequence[str],
    envs: Sequence[str],
    path: str | os.PathLike,
    key: str = "accuracy",
) -> None:
    """One panel per env: each agent's training ``key`` against env steps (mean ± std over
    seeds, interpolated on the union of their steps), a dotted line at its test accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = len(envs)
    fig, axes = plt.subplots(1, columns, figsize=(6 * columns, 4.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(agents) > len(colors):  # one colour per agent: 20 of them
        colors = list(plt.get_cmap("tab20").colors)
    for ax, env_id in zip(axes[0], envs, strict=True):
        for index, agent in enumerate(agents):
            ok = [
                r for r in records
                if r["agent"] == agent and r["env_id"] == env_id and r["status"] == "ok"
            ]  # fmt: skip
            color = colors[index % len(colors)]
            band = _curve_band([r["curve"] for r in ok], key)
            if band is not None:
                steps, mean, std = band
                ax.plot(steps, mean, color=color, label=agent)
                ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.15)
            if ok and key == "accuracy":
                test = float(np.mean([r["accuracy"] for r in ok]))
                ax.axhline(test, color=color, linestyle=":", linewidth=1)
                if band is None:
                    ax.plot([], [], color=color, linestyle=":", label=f"{agent} (test)")
        ax.set_title(env_id)
        ax.set_xlabel("training env steps")
        ax.set_ylabel(f"training episode {key}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(
        f"Learning curves (mean ± std over seeds); dotted: test {key}"
        if key == "accuracy"
        else f"Learning curves (mean ± std over seeds): {key}"
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


def report_markdown(
    records: Sequence[Record],
    agents: Sequence[str],
    envs: Sequence[str],
    *,
    command: str,
    budget: int,
    hardware: str,
    curves: str | None = None,
    seeds: int | None = None,
) -> str:
    """The whole report: how it was made, the table, the failed cells, the curves picture.

    ``seeds``: the seeds asked per (env, agent), for the table's *seeds ok* column.
    """
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{command}`",
        "",
        f"Budget: {budget:,} training env steps per cell. Hardware: {hardware}.",
        "",
        "Test metrics: the deterministic policy on the held-out split, fixed canvases, mean ± "
        "sample std over seeds. env steps/s: training env steps over training wall time "
        "(learning included). Wall time: the whole cell (training and evaluation).",
        "",
        markdown_table(summarize(records, agents, envs, seeds)),
    ]
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        lines += ["", "## Failed cells", ""]
        lines += [f"- `{r['key']}`: {r['error']}" for r in failed]
    if curves:
        lines += ["", f"![learning curves]({curves})"]
    return "\n".join(lines) + "\n"
