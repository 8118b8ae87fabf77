"""Learning curves of RAM runs: test error against epoch, one panel per experiment.

``python -m agents.ram.curves --folder docs/results --select seed --out docs/images/ram-curves.png``

A run is a pair of files in ``--folder`` sharing a stem: ``STEM.metrics.csv`` (what
``glimpse-env train ram`` writes: the test accuracy every ``--eval-every`` epochs) and
``STEM.eval.json`` (``glimpse-env eval ram --json-out``: the env id, and the deterministic test
error of the final weights, drawn as a dot at the run's last epoch). Each panel carries the
paper's error and the same-data CNN's (:data:`REFERENCES`) as dashed lines.

Warm restarts (a run started ``--init-from`` another's last weights) are drawn as one line with
``--chains``: ``A+B+C`` joins runs ``A``, ``B`` and ``C`` (stems found anywhere under
``--folder``), each one's epochs counted on from the previous one's last:

``python -m agents.ram.curves --chains 'ram-a-seed1+ram-b-seed1;ram-a-seed2+ram-b-seed2'``
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from agents.harness import run_command

__all__ = [
    "REFERENCES",
    "Args",
    "RunCurve",
    "chain_runs",
    "main",
    "plot_curves",
    "read_chains",
    "read_runs",
]

REFERENCES: dict[str, dict[str, float]] = {
    "GlimpseEnv-v0": {"paper RAM": 1.29, "same-data CNN": 1.00},
    "GlimpseEnv-translated60-v0": {"paper RAM": 1.84, "same-data CNN": 1.95},
    "GlimpseEnv-cluttered60-v0": {"paper RAM": 5.23, "same-data CNN": 4.90},
    "GlimpseEnv-cluttered100-v0": {"paper RAM": 10.83, "same-data CNN": 12.20},
}
"""Test error (%) to beat per env id: Mnih et al. (2014) and the project's CNN on the same
8,000 / 2,000 split (``docs/results.md``)."""


@dataclass(frozen=True)
class RunCurve:
    """One run's test error (%) at the epochs it was tested, and its final evaluation.

    Attributes:
        name: the files' stem.
        env_id: the env it trained on (from the evaluation file).
        epochs: the epochs with a test accuracy in ``metrics.csv``.
        errors: the test error (%) at those epochs.
        final_epoch: the last epoch in ``metrics.csv``.
        final_error: the deterministic error (%) of ``glimpse-env eval ram``.
    """

    name: str
    env_id: str
    epochs: tuple[int, ...]
    errors: tuple[float, ...]
    final_epoch: int
    final_error: float


def _read_run(metrics: Path) -> RunCurve:
    stem = metrics.name.removesuffix(".metrics.csv")
    evaluation = metrics.with_name(f"{stem}.eval.json")
    if not evaluation.is_file():
        raise ValueError(f"{metrics} has no {evaluation.name} beside it (glimpse-env eval ram)")
    report = json.loads(evaluation.read_text())
    deterministic = [r for r in report["results"] if r.get("mode") == "deterministic"]
    if not deterministic:
        raise ValueError(f"{evaluation} has no deterministic result")
    with metrics.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "test_accuracy" not in rows[0] or "epoch" not in rows[0]:
        raise ValueError(f"{metrics} is not a RAM metrics.csv (epoch and test_accuracy columns)")
    tested = [row for row in rows if row["test_accuracy"]]
    return RunCurve(
        name=stem,
        env_id=str(report["env"]),
        epochs=tuple(int(row["epoch"]) for row in tested),
        errors=tuple(100.0 * (1.0 - float(row["test_accuracy"])) for row in tested),
        final_epoch=int(rows[-1]["epoch"]),
        final_error=100.0 * (1.0 - float(deterministic[0]["accuracy"])),
    )


def read_runs(folder: str | Path, select: str = "") -> list[RunCurve]:
    """Every run in ``folder`` whose stem contains ``select``, by name.

    Raises:
        ValueError: no such run, or a run whose files are missing or malformed (one line).
    """
    found = sorted(Path(folder).glob("*.metrics.csv"))
    runs = [_read_run(path) for path in found if select in path.name.removesuffix(".metrics.csv")]
    if not runs:
        raise ValueError(f"no STEM.metrics.csv with {select!r} in its name in {folder}")
    return runs


def chain_runs(runs: list[RunCurve]) -> RunCurve:
    """Runs trained one after another (each from the previous one's last weights) as one curve:
    each run's epochs counted on from the previous run's last epoch, the final evaluation the
    last run's, the name the first run's with ``+ N restarts``.

    Raises:
        ValueError: no runs, or runs of different envs.
    """
    if not runs:
        raise ValueError("a chain needs at least one run")
    envs = {run.env_id for run in runs}
    if len(envs) > 1:
        raise ValueError(f"a chain's runs must share an env, got {sorted(envs)}")
    epochs: list[int] = []
    errors: list[float] = []
    offset = 0
    for run in runs:
        epochs += [offset + epoch for epoch in run.epochs]
        errors += run.errors
        offset += run.final_epoch
    restarts = len(runs) - 1
    suffix = f" + {restarts} restart{'s' if restarts != 1 else ''}" if restarts else ""
    return RunCurve(
        name=runs[0].name + suffix,
        env_id=runs[0].env_id,
        epochs=tuple(epochs),
        errors=tuple(errors),
        final_epoch=offset,
        final_error=runs[-1].final_error,
    )


def read_chains(folder: str | Path, chains: str) -> list[RunCurve]:
    """The chains of ``chains`` (``;``-separated, each a ``+``-joined list of stems found anywhere
    under ``folder``), each as one :func:`chain_runs` curve.

    Raises:
        ValueError: a stem found nowhere or in two places, or a malformed run (one line).
    """
    curves = []
    for chain in filter(None, (part.strip() for part in chains.split(";"))):
        runs = []
        for stem in (part.strip() for part in chain.split("+")):
            found = sorted(Path(folder).rglob(f"{stem}.metrics.csv"))
            if len(found) != 1:
                where = "nowhere" if not found else f"{len(found)} times"
                raise ValueError(f"run {stem!r} of chain {chain!r} found {where} under {folder}")
            runs.append(_read_run(found[0]))
        curves.append(chain_runs(runs))
    if not curves:
        raise ValueError(f"no chain in {chains!r} (expected 'A+B;C+D')")
    return curves


def plot_curves(runs: list[RunCurve], path: str | Path) -> None:
    """One panel per env (in :data:`REFERENCES` order): each run's test error (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agents.benchmark.report import write_atomic

    envs = [env for env in REFERENCES if any(r.env_id == env for r in runs)]
    envs += sorted({r.env_id for r in runs} - set(envs))
    fig, axes = plt.subplots(1, len(envs), figsize=(max(4.6 * len(envs), 8.0), 4.2), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        panel = [r for r in runs if r.env_id == env_id]
        for i, run in enumerate(panel):  # ten colours, then the next line style
            style = dict(color=f"C{i % 10}", linestyle=("-", "--", "-.", ":")[i // 10 % 4])
            ax.plot(run.epochs, run.errors, label=run.name.removeprefix("ram-"), **style)
            ax.plot([run.final_epoch], [run.final_error], "o", color=style["color"])
        for (label, error), style in zip(
            REFERENCES.get(env_id, {}).items(), ("--", ":"), strict=False
        ):
            ax.axhline(error, color="black", linestyle=style, linewidth=1, label=f"{label} {error}")
        ax.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_title(env_id, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test error (%)")
        ax.grid(alpha=0.3, which="both")
        if len(panel) > 8:  # many runs: the legend beside the panel, not over the curves
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            ax.legend(fontsize=7)
    fig.suptitle("RAM test error while training (dots: glimpse-env eval ram of the last weights)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


@dataclass
class Args:
    """Plot the test error of RAM runs against their epochs, one panel per experiment."""

    folder: str = "docs/results"
    """Where the runs' STEM.metrics.csv and STEM.eval.json files are."""
    select: str = ""
    """Only the runs whose file stem contains this (e.g. 'seed')."""
    chains: str = ""
    """Instead of --select: runs trained one from another's last weights, drawn as one line each
    ('A+B+C;D+E': stems found anywhere under --folder)."""
    out: str = "docs/images/ram-curves.png"
    """The PNG to write."""


def run(args: Args) -> Path:
    """Read the runs (or chains), write the plot; its path."""
    if args.chains:
        runs = read_chains(args.folder, args.chains)
    else:
        runs = read_runs(args.folder, args.select)
    plot_curves(runs, args.out)
    print(f"wrote {args.out}: {len(runs)} runs")
    return Path(args.out)


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.ram.curves``."""
    return run_command("python -m agents.ram.curves", Args, argv, run)


if __name__ == "__main__":
    raise SystemExit(main())
