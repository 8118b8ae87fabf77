"""Trainers with a budget of env steps (the SB3 family): shared arguments, and train-save-test.

An epoch trainer runs :func:`agents.harness.fit`; an SB3-style trainer, whose algorithm owns its
own loop, runs :func:`train_save_test`: it checks the arguments before anything starts, trains,
saves one file, tests the saved policy on ``--test-split`` (every image once, fixed canvases,
deterministic) and prints the path it wrote. Its ``Args`` extends :class:`StepArgs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agents.evaluation import EvalProtocol, PredictPolicy, evaluate_policy, make_core
from agents.harness.args import EnvArgs
from agents.harness.command import print_written
from agents.harness.threads import torch_threads
from glimpse_env.commands.cli_args import parse_json_object

__all__ = ["StepArgs", "StepRun", "train_save_test"]


@dataclass(kw_only=True)
class StepArgs(EnvArgs):
    """A trainer with a budget of env steps: the budget, the batch of envs, hyperparameters as
    JSON, the test at the end, the file saved."""

    seed: int = 0
    """Seed of the model, the images, the canvases and the initial locations."""
    steps: int = 200_000
    """Environment steps to train for, summed over the parallel envs."""
    num_envs: int | None = None
    """Episodes stepped as one batch (default: the algorithm's, 16)."""
    hyperparams: str | None = None
    """Hyperparameters over the algorithm's defaults, as JSON, e.g. '{"learning_rate": 1e-3}'."""
    eval_episodes: int | None = None
    """Test images evaluated at the end (default: all of --test-split; 0: skip)."""
    out: str | None = None
    """The file saved (default: under runs/, named after the algorithm, env and seed)."""
    verbose: bool = True
    """Print training accuracy and return as they come."""


class StepRun(Protocol):
    """What a step trainer's training returns: env steps taken, their wall time, the policy."""

    env_steps: int
    train_time_s: float

    @property
    def policy(self) -> PredictPolicy: ...


def train_save_test(
    args: StepArgs,
    name: str,
    train: Callable[[dict[str, Any], dict[str, Any]], StepRun],
    save: Callable[[Any, str], Path],
    default_out: str,
) -> Path:
    """Train, save, test, say where: ``glimpse-env train NAME`` for a step trainer.

    Args:
        args: the command's arguments (the env id and JSON flags are checked first).
        name: the algorithm, in messages.
        train: ``(env overrides, hyperparameters) -> run`` (env overrides: ``--env-kwargs``
            with ``--split`` and ``--data-root``).
        save: ``(run, path) -> the path written``.
        default_out: where to save without ``--out``.

    Returns:
        The saved file's path.
    """
    args.resolve_env_kwargs()  # an unknown id or bad JSON: ValueError before anything starts
    env_kwargs = args.env_overrides()
    hyperparams = parse_json_object(args.hyperparams, "--hyperparams")
    with torch_threads(args.threads):
        print(f"training {name} on {args.env} for {args.steps} env steps (seed {args.seed})")
        run = train(env_kwargs, hyperparams)
        path = save(run, args.out or default_out)
        rate = run.env_steps / max(run.train_time_s, 1e-9)
        print(f"trained {run.env_steps} env steps in {run.train_time_s:.1f} s ({rate:.0f} steps/s)")
        if args.eval_episodes != 0:
            protocol = EvalProtocol(split=args.test_split, episodes=args.eval_episodes)
            core = make_core(args.env, **protocol.env_kwargs(env_kwargs))
            result = evaluate_policy(run.policy, core, protocol.episodes, protocol.seed)
            print(
                f"test ({args.test_split}, {result.episodes} episodes, deterministic): "
                f"accuracy {result.accuracy:.4f}  mean return {result.mean_return:.4f}"
            )
    print_written([path])
    return path
