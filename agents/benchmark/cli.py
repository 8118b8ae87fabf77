"""``glimpse-env bench``: train and evaluate a grid of agents x envs x seeds, then report.

``glimpse-env bench --agents ram,ppo,dqn,random,center --envs GlimpseEnv-v0 --seeds 3
--budget 100000 --out runs/bench``

Writes under ``--out``: ``results.jsonl`` (one line per finished cell, appended as cells finish;
running the same command again resumes), ``results.md`` (the table) and ``learning_curves.png``.
``--report-only`` writes the table and the curves of the cells already recorded there (a grid
still running, or grids of several commands sharing one ``--out``) and trains nothing.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.benchmark.cells import CellSpec
from agents.benchmark.registry import resolve_agent
from agents.benchmark.report import (
    hardware_description,
    markdown_table,
    plot_curves,
    report_markdown,
    summarize,
    write_atomic,
)
from agents.benchmark.runner import ResultsLog, latest_records, run_grid
from agents.evaluation import EvalProtocol, make_core
from glimpse_env.commands.cli_args import parse_args, parse_json_object
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT

__all__ = ["DEFAULT_AGENTS", "Args", "build_grid", "check_env", "main"]

DEFAULT_AGENTS = "ram,ppo,a2c,dqn,recurrent_ppo,random,center,chance"


@dataclass
class Args:
    """Train and evaluate agents x envs x seeds within one env-step budget; write a report."""

    agents: str = DEFAULT_AGENTS
    """Comma-separated agent names (see agents.benchmark.registry) or package.module:function."""
    envs: str = "GlimpseEnv-v0,GlimpseEnv-cluttered60-v0"
    """Comma-separated env ids."""
    seeds: int = 3
    """Seeds per (agent, env): 0 .. SEEDS-1."""
    budget: int = 100_000
    """Training env steps per cell."""
    out: str = "runs/bench"
    """Output folder: results.jsonl, results.md, learning_curves.png."""
    workers: int | None = None
    """Parallel worker processes (default: the CPU count); 0 runs in this process."""
    ray: str | None = None
    """Run the cells as Ray tasks: 'local' (start Ray here) or a cluster address."""
    threads: int | None = None
    """torch threads per cell (default: CPU count / workers, at least 1)."""
    split: str = SHARED_TRAIN_SPLIT
    """The training split ('train' where the full set is on disk; offline: test[:8000])."""
    eval_split: str = SHARED_TEST_SPLIT
    """The held-out split the policies are evaluated on (fixed canvases)."""
    eval_episodes: int | None = None
    """Test episodes per cell: the first N images of --eval-split once each (default: all)."""
    eval_seed: int = 0
    """Seed of the test episodes' initial locations (the same for every cell)."""
    env_kwargs: str | None = None
    """More env kwargs for training and test as JSON, e.g. '{"reward": "correct_entropy"}'."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA, else a per-user cache."""
    progress: bool = True
    """Show the grid's progress bar and a line per finished cell."""
    save_models: bool = False
    """Keep each cell's trained agent in OUT/models/AGENT_ENV_seedSEED.zip (.pt for ram), for
    glimpse-env gif, play and eval (agents with a file: ram, the SB3 ones, *_loop, *_hybrid)."""
    report_only: bool = False
    """Train nothing: write the table and curves of the grid's cells recorded in --out."""


def _names(text: str, flag: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError(f"{flag} must name at least one")
    return names


def _check_numbers(args: Args, workers: int) -> None:
    if args.budget < 1 or args.seeds < 1:
        raise ValueError(f"--budget and --seeds must be >= 1, got {args.budget}, {args.seeds}")
    if workers < 0:
        raise ValueError(f"--workers must be >= 0, got {workers}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.eval_episodes is not None and args.eval_episodes < 1:
        raise ValueError(f"--eval-episodes must be >= 1, got {args.eval_episodes}")
    if args.ray is not None and importlib.util.find_spec("ray") is None:
        raise ValueError("--ray needs Ray: pip install 'glimpse-env[distributed]' (ray>=2.9)")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder")


def check_env(env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Refuse an env id, kwargs or split the cells could not make: builds its core once.

    Raises:
        ValueError: the id, a kwarg, the reward or the data (the message says what was
            expected; a missing dataset names the files and the data root).
    """
    make_core(env_id, **env_kwargs)


def build_grid(args: Args, workers: int) -> list[CellSpec]:
    """The cells of the grid, env-major then agent then seed.

    Every argument is checked first, so that a bad one stops the command before any cell
    starts: the numbers, the agent names (:func:`~agents.benchmark.registry.resolve_agent`), the
    env ids with the training and test kwargs, and that their splits' data loads.

    Raises:
        ValueError: the first bad argument, in one line that says what was expected.
    """
    _check_numbers(args, workers)
    env_kwargs = {**parse_json_object(args.env_kwargs, "--env-kwargs"), "split": args.split}
    if args.data_root is not None:
        env_kwargs["data_root"] = args.data_root
    protocol = EvalProtocol(split=args.eval_split, episodes=args.eval_episodes, seed=args.eval_seed)
    agents = _names(args.agents, "--agents")
    for agent in agents:
        resolve_agent(agent)
    envs = _names(args.envs, "--envs")
    for env_id in envs:
        check_env(env_id, env_kwargs)
        check_env(env_id, protocol.env_kwargs(env_kwargs))
    threads = args.threads or max((os.cpu_count() or 1) // max(workers, 1), 1)
    models = str(Path(args.out) / "models") if args.save_models else None
    return [
        CellSpec(agent, env_id, seed, args.budget, env_kwargs, protocol.to_dict(), threads, models)
        for env_id in envs
        for agent in agents
        for seed in range(args.seeds)
    ]


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env bench``; exit status 1 if a cell failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(Args, argv, prog="glimpse-env bench")
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    try:
        specs = build_grid(args, workers)
    except ValueError as err:
        print(f"glimpse-env bench: error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.report_only:
        records = latest_records(ResultsLog(out / "results.jsonl").records(), specs)
        print(f"{len(records)} of {len(specs)} cells recorded in {out / 'results.jsonl'}")
    else:
        print(f"{len(specs)} cells -> {out / 'results.jsonl'}", flush=True)
        records = run_grid(specs, out / "results.jsonl", workers, args.ray, args.progress)

    agents = list(dict.fromkeys(spec.agent for spec in specs))
    envs = list(dict.fromkeys(spec.env_id for spec in specs))
    plot_curves(records, agents, envs, out / "learning_curves.png")
    # the command that trains (or trained) these cells: the same without --report-only
    command = shlex.join(["glimpse-env", "bench", *(a for a in argv if a != "--report-only")])
    hardware = hardware_description(workers)
    if args.ray is not None:
        hardware += f", as Ray tasks ({args.ray})"
    report = report_markdown(
        records,
        agents,
        envs,
        command=command,
        budget=args.budget,
        hardware=hardware,
        curves="learning_curves.png",
        seeds=args.seeds,
    )
    write_atomic(out / "results.md", report)
    print(markdown_table(summarize(records, agents, envs, args.seeds)))
    print(f"wrote {out / 'results.md'} and {out / 'learning_curves.png'}")
    return 0 if all(r["status"] == "ok" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
