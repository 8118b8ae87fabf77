"""Train an agent that learns where to look: ``glimpse-env train sac_loop|...|ppo_hybrid``.

``glimpse-env train sac_loop --env GlimpseEnv-v0 --steps 200000``

The agent (:data:`agents.in_the_loop.algos.LOOP_AGENTS`) steps the env's batched core through
the in-the-loop SB3 VecEnv (:mod:`agents.in_the_loop.sb3`) or the hybrids' history env
(:mod:`agents.sb3.hybrid_env`), ``--num-envs`` episodes as one batch. With ``--verbose`` (the
default) SB3 prints its logs (``rollout/ep_rew_mean`` among them) and the trainer the training
accuracy as it goes. The agent and its classifier are saved as one file
(:mod:`agents.in_the_loop.pair`) that ``glimpse-env gif --policy FILE`` and ``glimpse-env eval
NAME --model FILE`` replay; at the end the pair is tested on ``--test-split`` (every image once,
fixed canvases).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from agents.harness import run_command
from agents.harness.budget import StepArgs, train_save_test
from agents.in_the_loop.algos import LOOP_AGENTS, LoopSpec
from agents.in_the_loop.classifier import ClassifierSettings, OnlineClassifier
from agents.in_the_loop.pair import LoopPolicy, PairMetadata, metadata_for, save_pair
from agents.in_the_loop.sb3 import InTheLoopSB3VecEnv, make_in_the_loop_vec_env
from agents.learning_curve import LearningCurve, Point
from agents.sb3.hybrid_env import make_hybrid_vec_env
from agents.sb3.train import learn_with_curve, whole_rollouts
from glimpse_env.commands.cli_args import parse_json_object

__all__ = ["Args", "LoopRun", "main", "make_env", "train_and_save", "train_loop"]


@dataclass(kw_only=True)
class Args(StepArgs):
    """Train an agent that learns where to look and save it with its classifier."""

    classifier: str | None = None
    """In-the-loop classifier settings over the defaults (*_loop), as JSON, e.g.
    '{"hidden": 256, "memory": "gru"}'."""
    out: str | None = None
    """The file; default runs/loop/AGENT_ENV_seedSEED.zip."""
    verbose: bool = True
    """Print SB3's logs (ep_rew_mean, ...) and the training accuracy as they come."""


def make_env(
    spec: LoopSpec,
    env_id: str,
    env_kwargs: dict[str, Any],
    num_envs: int | None = None,
    settings: ClassifierSettings | None = None,
    seed: int = 0,
) -> InTheLoopSB3VecEnv:
    """The SB3 VecEnv an agent trains on: a classifier in the loop, or the hybrids' history."""
    count = num_envs or spec.num_envs
    if spec.kind == "hybrid":
        return make_hybrid_vec_env(env_id, count, **env_kwargs)
    return make_in_the_loop_vec_env(
        env_id, count, action=spec.action, settings=settings or spec.classifier, seed=seed,
        **env_kwargs,
    )  # fmt: skip


@dataclass
class LoopRun:
    """The outcome of :func:`train_loop`.

    Attributes:
        model: the trained SB3 agent.
        metadata: the pair's metadata (saved with it).
        classifier: the in-the-loop classifier (None for a hybrid).
        curve: the learning curve (training episodes, stochastic policy, learning classifier).
        env_steps: env steps taken.
        train_time_s: wall time of ``learn``.
    """

    model: BaseAlgorithm
    metadata: PairMetadata
    classifier: OnlineClassifier | None
    curve: LearningCurve
    env_steps: int
    train_time_s: float

    @property
    def policy(self) -> LoopPolicy:
        return LoopPolicy(self.model, self.metadata, self.classifier)

    def save(self, path: str | os.PathLike, test_split: str | None = None) -> Path:
        """Save the pair (:func:`~agents.in_the_loop.pair.save_pair`), recording the held-out
        split it is tested on; returns the path written."""
        metadata = replace(self.metadata, test_split=test_split)
        return save_pair(self.model, path, metadata, self.classifier)


def train_loop(
    agent: str,
    env_id: str,
    steps: int,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    hyperparams: dict[str, Any] | None = None,
    classifier: dict[str, Any] | None = None,
    num_envs: int | None = None,
    device: str = "cpu",
    curve_points: int = 50,
    verbose: bool = False,
    on_point: Callable[[Point], None] | None = None,
) -> LoopRun:
    """Train ``agent`` (a name in :data:`~agents.in_the_loop.algos.LOOP_AGENTS`) for about
    ``steps`` env steps.

    On-policy algorithms train on whole rollouts (``n_steps * num_envs`` steps), so ``steps`` is
    rounded down to a multiple of that (at least one rollout). SB3 logs about 20 times a run;
    ``on_point`` gets each point of the learning curve as it comes.

    Raises:
        ValueError: an unknown agent, bad classifier settings or hyperparameters.
    """
    if agent not in LOOP_AGENTS:
        raise ValueError(f"unknown agent {agent!r}; known: {', '.join(LOOP_AGENTS)}")
    spec = LOOP_AGENTS[agent]
    settings = spec.classifier.updated(classifier)
    env_kwargs = dict(env_kwargs or {})
    venv = make_env(spec, env_id, env_kwargs, num_envs, settings, seed)
    model = spec.algo_class(
        spec.policy,
        venv,
        seed=seed,
        device=device,
        verbose=int(verbose),
        **{**copy.deepcopy(spec.hyperparams), **(hyperparams or {})},
    )
    steps = whole_rollouts(model, steps)
    if isinstance(model, OnPolicyAlgorithm):  # SB3 logs every log_interval rollouts
        log_interval = max(steps // (model.n_steps * venv.num_envs) // 20, 1)
    else:  # ... or every log_interval episodes
        log_interval = max(steps // venv.env.core.config.num_glimpses // 20, 1)
    curve, train_time = learn_with_curve(
        model, steps, curve_points, verbose, on_point, log_interval=log_interval
    )
    metadata = metadata_for(agent, spec.kind, venv, model, env_id, env_kwargs)
    venv.close()
    return LoopRun(model, metadata, venv.classifier, curve, int(model.num_timesteps), train_time)


def default_path(agent: str, args: Args) -> str:
    """Where ``glimpse-env train AGENT`` saves without ``--out``."""
    return f"runs/loop/{agent}_{args.env}_seed{args.seed}.zip"


def train_and_save(agent: str, args: Args) -> Path:
    """``glimpse-env train AGENT``: train, save the pair, test on ``--test-split``; its path.

    The env id, ``--env-kwargs``, ``--hyperparams`` and ``--classifier`` are checked before
    anything starts.
    """
    classifier = parse_json_object(args.classifier, "--classifier")

    def train(env_kwargs: dict[str, Any], hyperparams: dict[str, Any]) -> LoopRun:
        return train_loop(
            agent, args.env, args.steps, args.seed, env_kwargs, hyperparams, classifier,
            args.num_envs, args.device, verbose=args.verbose,
        )  # fmt: skip

    def save(run: LoopRun, path: str) -> Path:
        return run.save(path, args.test_split)

    return train_save_test(args, agent, train, save, default_path(agent, args))


def main(argv: list[str] | None = None, agent: str = "sac_loop") -> int:
    """``glimpse-env train AGENT``."""
    return run_command(f"glimpse-env train {agent}", Args, argv, partial(train_and_save, agent))


def __getattr__(name: str) -> Any:
    """``main_AGENT`` for every agent of :data:`LOOP_AGENTS` (what the plugins name)."""
    if name.startswith("main_") and name[len("main_") :] in LOOP_AGENTS:
        return partial(main, agent=name[len("main_") :])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
