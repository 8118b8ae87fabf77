"""The reshaped-reward study: RAM with ``correct`` versus ``correct_entropy``, seeds, one report.

Two commands reproduce it (both also run as ``glimpse-env explain study ...``)::

    python -m agents.explain.study train --epochs 100 --jobs 2      # 2 envs x 2 rewards x 3 seeds
    python -m agents.explain.study report --episodes 2000           # curves, table, figures

``train`` runs one ``glimpse-env train ram`` per (env, reward, seed), each a plain command that
it prints and logs (``OUT/ENV/REWARD/seed-S/train.log``), ``--jobs`` at a time, skipping runs
that already wrote ``results.json``. ``report`` plays every run's final weights (``last.pt``) on
the same test episodes (the first ``--episodes`` images of the test split, fixed canvases, the
initial locations seeded with ``--seed``), and writes per-glimpse information gain and accuracy,
mean and spread over seeds, and a test of the claim "the reshaped reward gives more information
gain" per env.

The reshaped reward is ``correct_entropy`` with ``beta = 0.5``: correctness plus 0.5 times the
drop of the belief's entropy at every step, the belief before the first glimpse uniform
(entropy ``log n``); see :class:`glimpse_env.core.rewards.CorrectEntropy`.
"""

from __future__ import annotations

import csv
import json
import math
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glimpse_env.commands.cli_args import parse_args
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT

__all__ = [
    "REWARDS",
    "ReportArgs",
    "TrainArgs",
    "compare_rewards",
    "main",
    "report",
    "run_dir",
    "train_command",
    "train_grid",
]

REWARDS: dict[str, str | None] = {"correct": None, "correct_entropy": '{"beta": 0.5}'}
"""The two rewards compared: name -> ``--reward-kwargs`` (the reshaped reward's beta = 0.5)."""

FULL_SPLITS: dict[str, tuple[str, str]] = {"GlimpseEnv-fashion-v0": ("train", "test")}
"""Envs whose full training set is on disk here: (train split, test split). The others train on
the shared split of the MNIST test set (test[:8000] / test[8000:])."""


def splits(env: str) -> tuple[str, str]:
    """``(train split, test split)`` of the study for ``env``."""
    return FULL_SPLITS.get(env, (SHARED_TRAIN_SPLIT, SHARED_TEST_SPLIT))


def run_dir(out: str | Path, env: str, reward: str, seed: int) -> Path:
    """Where one run writes: ``OUT/ENV/REWARD/seed-S``."""
    return Path(out) / env / reward / f"seed-{seed}"


def _ints(text: str) -> list[int]:
    return [int(s) for s in text.replace(",", " ").split()]


def _names(text: str) -> list[str]:
    return [s for s in text.replace(",", " ").split() if s]


@dataclass
class TrainArgs:
    """Train the study's RAM runs: every env x reward x seed, a few at a time."""

    out: str = "runs/explain-study"
    """Folder of the runs (OUT/ENV/REWARD/seed-S)."""
    envs: str = "GlimpseEnv-v0,GlimpseEnv-cluttered60-v0"
    """Env ids, comma-separated."""
    rewards: str = "correct,correct_entropy"
    """Rewards compared, comma-separated (names of REWARDS)."""
    seeds: str = "1,2,3"
    """Seeds, comma-separated."""
    epochs: int = 100
    """Epochs of each RAM training."""
    jobs: int = 2
    """Trainings run at once."""
    threads: int = 1
    """torch CPU threads of each training."""
    device: str = "cpu"
    """torch device of each training."""
    dry_run: bool = False
    """Only print the commands."""


def train_command(
    env: str, reward: str, seed: int, epochs: int, out: str | Path, device: str, threads: int
) -> list[str]:
    """The ``glimpse-env train ram`` command of one study run."""
    train_split, test_split = splits(env)
    command = [
        "glimpse-env", "train", "ram", "--env", env, "--reward", reward, "--seed", str(seed),
        "--epochs", str(epochs), "--split", train_split, "--test-split", test_split,
        "--device", device, "--threads", str(threads), "--no-progress", "--no-tensorboard",
        "--out", str(run_dir(out, env, reward, seed)),
    ]  # fmt: skip
    if REWARDS[reward] is not None:
        command += ["--reward-kwargs", REWARDS[reward]]
    return command


def train_grid(args: TrainArgs) -> int:
    """Run every training of the grid (``args.jobs`` at a time); returns the number that failed."""
    runs = [
        (env, reward, seed)
        for env in _names(args.envs)
        for reward in _names(args.rewards)
        for seed in _ints(args.seeds)
    ]
    unknown = sorted({r for _, r, _ in runs} - set(REWARDS))
    if unknown:
        raise ValueError(f"unknown study reward(s) {unknown}; known: {sorted(REWARDS)}")
    pending: list[tuple[list[str], Path]] = []
    for env, reward, seed in runs:
        folder = run_dir(args.out, env, reward, seed)
        command = train_command(env, reward, seed, args.epochs, args.out, args.device, args.threads)
        # The python running this module runs the trainings (not whatever glimpse-env is first
        # on PATH): the same package, the same interpreter.
        done = (folder / "results.json").is_file()
        print(("[done] " if done else "") + shlex.join(command), flush=True)
        if not done:
            pending.append((command, folder))
    if args.dry_run:
        return 0
    running: list[tuple[subprocess.Popen, Path, float]] = []
    failed = 0
    while pending or running:
        while pending and len(running) < args.jobs:
            command, folder = pending.pop(0)
            folder.mkdir(parents=True, exist_ok=True)
            log = (folder / "train.log").open("w")
            log.write(shlex.join(command) + "\n")
            log.flush()
            argv = [sys.executable, "-m", "glimpse_env.commands.cli", *command[1:]]
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            running.append((process, folder, time.perf_counter()))
        time.sleep(1.0)
        for item in list(running):
            process, folder, started = item
            if process.poll() is None:
                continue
            running.remove(item)
            status = "ok" if process.returncode == 0 else f"FAILED ({process.returncode})"
            print(f"{folder}: {status} in {time.perf_counter() - started:.0f}s", flush=True)
            failed += process.returncode != 0
    return failed


@dataclass
class ReportArgs:
    """Play every study run on the same test episodes; curves, table and figures over seeds."""

    out: str = "runs/explain-study"
    """Folder of the runs (as given to train)."""
    envs: str = "GlimpseEnv-v0,GlimpseEnv-cluttered60-v0"
    """Env ids, comma-separated."""
    rewards: str = "correct,correct_entropy"
    """Rewards compared, comma-separated; the second is tested against the first."""
    seeds: str = "1,2,3"
    """Seeds, comma-separated."""
    checkpoint: str = "last.pt"
    """Which checkpoint of each run: last.pt (the final weights) or best.pt."""
    episodes: int = 2000
    """Test episodes: the first N images of each env's test split (fixed canvases)."""
    seed: int = 0
    """Seed of the test episodes' initial locations (the same for every run)."""
    report_dir: str | None = None
    """Where study.json, study.csv and the plots go; default OUT/report."""
    device: str = "cpu"
    """torch device."""
    threads: int | None = None
    """torch CPU threads."""
    progress: bool = True
    """Show a progress bar."""


def run_curves(
    path: Path, core_cache: dict[str, Any], args: ReportArgs
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Mean per-glimpse curves of one run's checkpoint on its env's test episodes, and the
    checkpoint's own test results."""
    from agents.explain.information import belief_trajectory, mean_curves
    from agents.ram.checkpoint import load_checkpoint, load_model
    from agents.ram.evaluate import make_test_core

    saved = load_checkpoint(path, device=args.device)
    model = load_model(saved, args.device, source=str(path))
    key = saved["env_id"]
    if key not in core_cache:
        kwargs = {**saved["env_kwargs"], "split": saved["test_split"], "device": args.device}
        core_cache[key] = make_test_core(kwargs)
    trajectory = belief_trajectory(model, core_cache[key], args.episodes, args.seed)
    results = path.parent / "results.json"
    own = json.loads(results.read_text()) if results.is_file() else {}
    meta = {
        "checkpoint": str(path),
        "epoch": int(saved["epoch"]),
        "test_split": saved["test_split"],
        "episodes": len(trajectory["label"]),
        "train_time_s": own.get("train_time_s"),
        "final_test_accuracy": (own.get("results") or [{}])[0].get("accuracy"),
    }
    return mean_curves(trajectory), meta


def welch(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Welch's t-test of ``mean(b) - mean(a)`` (scipy's p-value where scipy is installed)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff, se = float(b.mean() - a.mean()), math.sqrt(va + vb)
    t = diff / se if se > 0 else math.copysign(math.inf, diff) if diff else 0.0
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else math.nan
    try:
        from scipy import stats

        p = float(stats.ttest_ind(b, a, equal_var=False).pvalue) if se > 0 else math.nan
    except ImportError:
        p = math.nan
    return {"difference": diff, "standard_error": se, "t": t, "df": float(df), "p": p}


def compare_rewards(
    per_seed: dict[str, dict[str, np.ndarray]], baseline: str, reshaped: str
) -> dict[str, Any]:
    """Test "``reshaped`` gives more information gain than ``baseline``" on one env.

    Args:
        per_seed: reward -> curve -> ``(seeds, K)`` arrays of the runs' mean curves.

    Returns:
        Welch tests over seeds of the total information gain ``log n - H_T``, of the gain after
        the first glimpse ``H_1 - H_T`` (the part the learned locations decide: glimpse 1 is at a
        random location for both), of the final accuracy, of the mean entropy over glimpses
        ``1..T`` (lower: the information came earlier), and of the gain and the accuracy at
        each glimpse.
    """
    gain = {r: per_seed[r]["information_gain"] for r in (baseline, reshaped)}
    mean_entropy = {r: per_seed[r]["entropy"][:, 1:].mean(1) for r in (baseline, reshaped)}
    accuracy = {r: per_seed[r]["accuracy"][:, -1] for r in (baseline, reshaped)}
    return {
        "total_information_gain": welch(gain[baseline].sum(1), gain[reshaped].sum(1)),
        "gain_after_first_glimpse": welch(
            gain[baseline][:, 1:].sum(1), gain[reshaped][:, 1:].sum(1)
        ),
        "final_accuracy": welch(accuracy[baseline], accuracy[reshaped]),
        "mean_entropy_over_glimpses": welch(mean_entropy[baseline], mean_entropy[reshaped]),
        "gain_per_glimpse": _per_glimpse(per_seed, "information_gain", baseline, reshaped),
        "accuracy_per_glimpse": _per_glimpse(per_seed, "accuracy", baseline, reshaped),
    }


def _per_glimpse(
    per_seed: dict[str, dict[str, np.ndarray]], curve: str, baseline: str, reshaped: str
) -> list[dict[str, float]]:
    a, b = per_seed[baseline][curve], per_seed[reshaped][curve]
    return [welch(a[:, t], b[:, t]) for t in range(a.shape[1])]


def _verdict(test: dict[str, float]) -> str:
    if not math.isfinite(test["p"]) or test["p"] >= 0.05:
        return "no significant difference (p >= 0.05)"
    return "more" if test["difference"] > 0 else "less"


PLOTS = {
    "information_gain": "information gain H_{t-1} - H_t (nats)",
    "accuracy": "accuracy of the belief after glimpse t",
    "entropy": "belief entropy H_t (nats)",
}
"""The study's plots: curve -> y label."""


def _spread(values: np.ndarray) -> np.ndarray:
    """Standard deviation over seeds (axis 0; ddof 1), zeros for a single seed."""
    return values.std(0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1:])


def _aggregate(stacked: dict[str, np.ndarray]) -> dict[str, dict[str, list]]:
    """curve -> mean, std and the per-seed values of ``(seeds, K)`` arrays."""
    return {
        name: {"mean": v.mean(0).tolist(), "std": _spread(v).tolist(), "per_seed": v.tolist()}
        for name, v in stacked.items()
    }


def _plot_env(folder: Path, env: str, per_seed: dict[str, dict[str, np.ndarray]]) -> None:
    from agents.explain.figures import plot_curves

    for name, ylabel in PLOTS.items():
        series = {
            f"{reward} ({len(curves[name])} seeds)": (curves[name].mean(0), _spread(curves[name]))
            for reward, curves in per_seed.items()
        }
        title = f"{env}: mean +- std over seeds"
        start = 0 if name == "entropy" else 1
        plot_curves(folder / f"{name}-{env}.png", series, ylabel, title, start)


def report(args: ReportArgs, command: str | None = None) -> dict[str, Any]:
    """Curves of every run, their mean and spread over seeds, the reward comparison, plots.

    ``command`` is recorded in study.json as the command line that made the report.
    """
    from tqdm import tqdm

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    envs, rewards, seeds = _names(args.envs), _names(args.rewards), _ints(args.seeds)
    folder = Path(args.report_dir or Path(args.out) / "report")
    folder.mkdir(parents=True, exist_ok=True)
    cores: dict[str, Any] = {}
    summary: dict[str, Any] = {"command": command, "args": asdict(args), "envs": {}, "runs": {}}
    bar = tqdm(total=len(envs) * len(rewards) * len(seeds), desc="runs", disable=not args.progress)
    for env in envs:
        per_seed: dict[str, dict[str, np.ndarray]] = {}
        env_summary: dict[str, Any] = {"rewards": {}, "runs": {}}
        for reward in rewards:
            curves = []
            for seed in seeds:
                path = run_dir(args.out, env, reward, seed) / args.checkpoint
                run, meta = run_curves(path, cores, args)
                curves.append(run)
                summary["runs"][f"{env}/{reward}/seed-{seed}"] = {
                    **meta,
                    "train_command": shlex.join(train_command_of(path)),
                    "curves": {k: v.tolist() for k, v in run.items()},
                }
                bar.update()
            per_seed[reward] = {k: np.stack([c[k] for c in curves]) for k in curves[0]}
            env_summary["rewards"][reward] = _aggregate(per_seed[reward])
        if len(rewards) >= 2 and len(seeds) >= 2:
            comparison = compare_rewards(per_seed, rewards[0], rewards[1])
            comparison["verdict"] = {
                k: _verdict(comparison[k])
                for k in (
                    "total_information_gain",
                    "gain_after_first_glimpse",
                    "mean_entropy_over_glimpses",
                    "final_accuracy",
                )
            }
            env_summary["comparison"] = {"baseline": rewards[0], "reshaped": rewards[1]}
            env_summary["comparison"].update(comparison)
        _plot_env(folder, env, per_seed)
        summary["envs"][env] = env_summary
    bar.close()
    (folder / "study.json").write_text(json.dumps(summary, indent=2))
    write_study_csv(folder / "study.csv", summary)
    (folder / "study.md").write_text(study_markdown(summary))
    print_summary(summary)
    print(f"wrote {folder / 'study.json'}, study.csv, study.md and the plots")
    return summary


def train_command_of(checkpoint: Path) -> list[str]:
    """The command line a study run logged as the first line of its train.log (else [])."""
    log = checkpoint.parent / "train.log"
    if not log.is_file():
        return []
    with log.open() as f:
        return shlex.split(f.readline())


def write_study_csv(path: Path, summary: dict[str, Any]) -> None:
    """One row per (env, reward, curve, glimpse): mean, std and each seed's value."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["env", "reward", "curve", "glimpse", "mean", "std", "per_seed"])
        for env, env_summary in summary["envs"].items():
            for reward, curves in env_summary["rewards"].items():
                for name, values in curves.items():
                    start = 0 if name == "entropy" else 1
                    rows = zip(values["mean"], values["std"], strict=True)
                    for i, (mean, std) in enumerate(rows):
                        seeds = " ".join(f"{run[i]:.6f}" for run in values["per_seed"])
                        writer.writerow([env, reward, name, start + i, mean, std, seeds])


def study_markdown(summary: dict[str, Any]) -> str:
    """Markdown tables of the report: per env, information gain and accuracy per glimpse (mean
    +- std over seeds) for each reward, then the tests of the comparison."""
    lines = []
    for env, env_summary in summary["envs"].items():
        rewards = env_summary["rewards"]
        steps = len(next(iter(rewards.values()))["accuracy"]["mean"])
        seeds = len(next(iter(rewards.values()))["accuracy"]["per_seed"])
        lines += [f"#### {env} ({seeds} seeds, mean ± std)", ""]
        lines.append(
            "| reward | curve | " + " | ".join(f"t={t}" for t in range(1, steps + 1)) + " |"
        )
        lines.append("|---|---|" + "---:|" * steps)
        for reward, curves in rewards.items():
            for name in ("information_gain", "accuracy"):
                cells = " | ".join(
                    f"{m:.3f} ± {s:.3f}"
                    for m, s in zip(curves[name]["mean"], curves[name]["std"], strict=True)
                )
                lines.append(f"| {reward} | {name.replace('_', ' ')} | {cells} |")
        comparison = env_summary.get("comparison")
        for key, name in (("gain_per_glimpse", "gain"), ("accuracy_per_glimpse", "accuracy")):
            if comparison:
                cells = " | ".join(f"{test['p']:.3f}" for test in comparison[key])
                lines.append(
                    f"| Welch p | {name}: {comparison['reshaped']} vs baseline | {cells} |"
                )
        if comparison:
            lines += ["", f"{comparison['reshaped']} − {comparison['baseline']}, Welch's t-test "
                      "over seeds:", "", "| quantity | difference | SE | t | p | verdict |",
                      "|---|---:|---:|---:|---:|---|"]  # fmt: skip
            for key, verdict in comparison["verdict"].items():
                test = comparison[key]
                numbers = (
                    f"{test['difference']:+.4f} | {test['standard_error']:.4f} | "
                    f"{test['t']:.2f} | {test['p']:.3f}"
                )
                lines.append(f"| {key.replace('_', ' ')} | {numbers} | {verdict} |")
        lines.append("")
    return "\n".join(lines)


def _cells(curve: dict[str, list]) -> str:
    return " ".join(f"{m:.3f}+-{s:.3f}" for m, s in zip(curve["mean"], curve["std"], strict=True))


def print_summary(summary: dict[str, Any]) -> None:
    """Per env and reward, the per-glimpse means +- std over seeds, then the tests."""
    for env, env_summary in summary["envs"].items():
        print(f"== {env}")
        for reward, curves in env_summary["rewards"].items():
            for name in ("information_gain", "accuracy"):
                print(f"  {reward:<16} {name:<17} {_cells(curves[name])}")
        comparison = env_summary.get("comparison")
        if not comparison:
            continue
        label = f"{comparison['reshaped']} - {comparison['baseline']}"
        for key, verdict in comparison["verdict"].items():
            test = comparison[key]
            print(
                f"  {label} {key}: {test['difference']:+.4f} (SE {test['standard_error']:.4f}, "
                f"t {test['t']:.2f}, df {test['df']:.1f}, p {test['p']:.3f}): {verdict}"
            )


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.explain.study train|report ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("train", "report"):
        print("usage: python -m agents.explain.study {train,report} [--help]", file=sys.stderr)
        return 2
    if argv[0] == "train":
        args = parse_args(TrainArgs, argv[1:], prog="glimpse-env explain study train")
        return 1 if train_grid(args) else 0
    args = parse_args(ReportArgs, argv[1:], prog="glimpse-env explain study report")
    report(args, command=shlex.join(["python", "-m", "agents.explain.study", *argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
