"""Mutation testing of the core modules with mutmut: how many planted bugs do the tests catch?

``python tools/mutation.py`` runs every module of :data:`MODULES`; ``python tools/mutation.py
sensor rewards`` runs some. Each module is tested in its own scratch copy of the *committed*
tree (``git archive HEAD``, under ``--work``, default ``/tmp/glimpse-mutation``), so the working
tree never holds a mutated file and uncommitted edits are not tested. mutmut mutates the one
module, runs the module's test selection once to learn which tests reach which function, then
runs, for each mutant, the tests that reach the mutated function. The result per module (killed,
survived, timeouts, score) goes to ``WORK/summary.md`` and the survivors' diffs to
``WORK/MODULE/survivors.txt``; ``docs/development.md`` records the last run and explains the
survivors.

Slow (hours on 2 busy cores): it is not part of the per-commit CI. Needs ``pip install mutmut``
(3.x). ``--max-children`` sets the parallel test processes (default 2; the runs are ``nice``).
Hypothesis runs its ``mutation`` profile (``tests/conftest.py``): few examples, always the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (module to mutate, the tests that should kill its mutants)
    "sensor": (
        "glimpse_env/core/sensor.py",
        ("tests/test_sensor.py", "tests/test_sensor_oracle.py"),
    ),
    "canvas": ("glimpse_env/data/canvas.py", ("tests/test_canvas.py", "tests/test_data.py")),
    "batched": (
        "glimpse_env/core/batched.py",
        (
            "tests/test_core_restarts.py",
            "tests/test_core_step.py",
            "tests/test_core_reset.py",
            "tests/test_rewards_properties.py",
            "tests/test_env.py",
            "tests/test_vector.py",
        ),
    ),
    "rewards": (
        "glimpse_env/core/rewards.py",
        ("tests/test_rewards.py", "tests/test_rewards_properties.py", "tests/test_core_step.py"),
    ),
    "actions": (
        "glimpse_env/core/actions.py",
        ("tests/test_actions.py", "tests/test_env.py", "tests/test_wrappers.py"),
    ),
    "vector": (
        "glimpse_env/faces/vector.py",
        ("tests/test_vector.py", "tests/test_render.py", "tests/test_ids.py"),
    ),
    "rollout": ("agents/ram/rollout.py", ("tests/test_ram_credit.py", "tests/test_ram_model.py")),
    "stacked_rollout": (  # the rollout the trainer runs (one or several runs at once)
        "agents/ram/stacked_rollout.py",
        (
            "tests/test_ram_stacked.py",
            "tests/test_ram_credit.py",
            "tests/test_ram_location_learning.py",
            "tests/test_ram_multirun.py",
        ),
    ),
    "checkpoints": (
        "agents/checkpoints.py",
        (
            "tests/test_checkpoints.py",
            "tests/test_loaders_refuse_pickles.py",
            "tests/test_harness.py",
        ),
    ),
    "widen": ("agents/ram/widen.py", ("tests/test_ram_widen.py",)),
    "bench_progress": (
        "agents/benchmark/progress.py",
        ("tests/test_bench_progress.py", "tests/test_bench.py"),
    ),
}

PYTEST_ARGS = ("-p", "no:randomly", "-p", "no:cacheprovider", "-x", "-q")

DESELECTED = (
    # Reads the packages' source text; mutmut's copy holds every mutant's text beside the
    # original (weights_only=False among them), so it fails on the unmutated run. The loaders'
    # behaviour (a crafted pickle refused) stays tested.
    "tests/test_loaders_refuse_pickles.py::test_every_torch_load_in_the_packages_is_weights_only",
)


def export_committed_tree(target: Path) -> None:
    """The files of ``HEAD`` (not the working tree) into ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=REPO, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)


def write_config(target: Path, module: str, tests: tuple[str, ...]) -> None:
    """mutmut's settings for one module (``setup.cfg``: the repo's pyproject has none)."""
    existing = [t for t in tests if (target / t).is_file()]
    lines = [
        "[mutmut]",
        "source_paths=",
        "    glimpse_env",
        "    agents",
        "also_copy=",  # what tests read beside the packages (examples they run, docs)
        "    examples",
        "    docs",
        "    README.md",
        "only_mutate=",
        f"    {module}",
        "pytest_add_cli_args_test_selection=",
        *(f"    {t}" for t in existing),
        "pytest_add_cli_args=",
        *(f"    {a}" for a in PYTEST_ARGS),
        *(f"    --deselect={t}" for t in DESELECTED),
        "process_isolation=forkserver",
        "timeout_multiplier=10.0",
        "timeout_constant=30.0",
    ]
    (target / "setup.cfg").write_text("\n".join(lines) + "\n")


def read_stats(target: Path) -> dict[str, int]:
    subprocess.run(["mutmut", "export-cicd-stats"], cwd=target, check=True, capture_output=True)
    return json.loads((target / "mutants" / "mutmut-cicd-stats.json").read_text())


def survivors(target: Path) -> list[str]:
    out = subprocess.run(["mutmut", "results"], cwd=target, capture_output=True, text=True)
    return [line.split(":")[0].strip() for line in out.stdout.splitlines() if ": survived" in line]


def show(target: Path, name: str) -> str:
    out = subprocess.run(["mutmut", "show", name], cwd=target, capture_output=True, text=True)
    return out.stdout


def score(stats: dict[str, int]) -> float:
    """Killed (timeouts included) over all mutants not skipped, in percent: a mutant that no
    test of the selection reaches counts as a survivor."""
    tested = stats.get("total", 0) - stats.get("skipped", 0)  # mutants no test reaches count
    caught = stats.get("killed", 0) + stats.get("timeout", 0)
    return 100.0 * caught / tested if tested else 0.0


def counts(stats: dict[str, int]) -> tuple[int, int, int, int]:
    """``(mutants, killed, timeouts, not killed)``; skipped mutants are left out."""
    mutants = stats.get("total", 0) - stats.get("skipped", 0)
    killed, timeout = stats.get("killed", 0), stats.get("timeout", 0)
    return mutants, killed, timeout, mutants - killed - timeout


def summary_row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def run_module(name: str, work: Path, max_children: int) -> dict[str, object]:
    module, tests = MODULES[name]
    target = work / name
    export_committed_tree(target)
    write_config(target, module, tests)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HYPOTHESIS_PROFILE": "mutation"}
    env.setdefault("GLIMPSE_ENV_DATA", str(REPO.parent / "shared" / "data"))
    started = time.time()
    log = (work / f"{name}.log").open("w")
    done = subprocess.run(
        ["nice", "mutmut", "run", "--max-children", str(max_children)],
        cwd=target, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"mutmut failed on {module} (exit {done.returncode}); see {log.name}")
    stats = read_stats(target)
    names = survivors(target)
    (target / "survivors.txt").write_text("\n".join(show(target, n) for n in names))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "module": module,
        "commit": commit,
        "stats": stats,
        "score": score(stats),
        "survivors": names,
        "minutes": (time.time() - started) / 60,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--work", default="/tmp/glimpse-mutation", help="scratch folder")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown modules {unknown}; known: {', '.join(MODULES)}")
    if shutil.which("mutmut") is None:
        print("mutation.py: needs mutmut 3 (pip install mutmut)", file=sys.stderr)
        return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "results.json"
    results: dict[str, dict] = {}
    for name in args.modules or list(MODULES):
        print(f"mutating {MODULES[name][0]} ...", flush=True)
        try:
            result = run_module(name, work, args.max_children)
        except RuntimeError as err:  # e.g. a test of the selection fails on unmutated code
            print(f"  {err}", file=sys.stderr)
            continue
        # re-read: another run of this script may have added modules meanwhile
        results = json.loads(results_path.read_text()) if results_path.is_file() else {}
        results[name] = result
        results_path.write_text(json.dumps(results, indent=2))
        print(f"  {result['score']:.1f}% ({result['stats']})", flush=True)
    total = {"total": 0, "skipped": 0, "killed": 0, "timeout": 0}
    rows = [summary_row("module", "commit", "mutants", "killed", "timeout", "not killed", "score")]
    rows.append("|---" * 7 + "|")
    for r in results.values():
        s = r["stats"]
        rows.append(summary_row(r["module"], r["commit"], *counts(s), f"{r['score']:.1f}%"))
        for key in total:
            total[key] += s.get(key, 0)
    rows.append(summary_row("all", "", *counts(total), f"{score(total):.1f}%"))
    (work / "summary.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
