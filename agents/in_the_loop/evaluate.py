"""Evaluate a trained pair on a test split: ``glimpse-env eval sac_loop --model FILE``.

Every image of the split once, fixed canvases, the deterministic policy (the protocol of
:class:`agents.evaluation.EvalProtocol`), on the env the pair was trained on unless ``--env`` or
``--env-kwargs`` say otherwise; an env of another configuration is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.evaluation import EvalProtocol, evaluate_policy, make_core
from agents.harness import run_command
from agents.in_the_loop.pair import load_pair, read_pair_metadata
from glimpse_env.commands.cli_args import parse_json_object
from glimpse_env.data.catalog import SHARED_TEST_SPLIT

__all__ = ["Args", "main", "run"]


@dataclass
class Args:
    """Evaluate an agent saved by glimpse-env train *_loop|*_hybrid (every test image once)."""

    model: str
    """The file written by glimpse-env train (runs/loop/AGENT_ENV_seedSEED.zip)."""
    env: str | None = None
    """The env id; default: the one the agent was trained on."""
    test_split: str | None = None
    """The split to evaluate on; default: the one the file records it was tested on, else
    test[8000:]."""
    env_kwargs: str | None = None
    """Env kwargs over the agent's training env's, as a JSON object."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA."""
    episodes: int | None = None
    """Evaluate the first N images of the split (default: all)."""
    seed: int = 0
    """Seed of the initial locations."""


def run(args: Args) -> dict[str, Any]:
    """Evaluate ``args.model``; prints and returns ``{"accuracy", "mean_return", "episodes"}``."""
    metadata = read_pair_metadata(args.model)
    env_id = args.env or metadata.env_id
    if env_id is None:
        raise ValueError(f"{args.model} does not say which env it was trained on: give --env")
    env_kwargs = {**metadata.env_kwargs, **parse_json_object(args.env_kwargs, "--env-kwargs")}
    if args.data_root is not None:
        env_kwargs["data_root"] = args.data_root
    split = args.test_split or metadata.test_split or SHARED_TEST_SPLIT
    protocol = EvalProtocol(split=split, episodes=args.episodes, seed=args.seed)
    core = make_core(env_id, **protocol.env_kwargs(env_kwargs))
    policy = load_pair(args.model, core)
    result = evaluate_policy(policy, core, protocol.episodes, protocol.seed)
    print(
        f"{metadata.agent} on {env_id} {split} ({result.episodes} images, "
        f"deterministic): accuracy {result.accuracy:.4f}  mean return {result.mean_return:.4f}"
    )
    return {
        "accuracy": result.accuracy,
        "mean_return": result.mean_return,
        "episodes": result.episodes,
    }


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env eval AGENT --model FILE`` (any agent of this package)."""
    return run_command("glimpse-env eval", Args, argv, run)
