"""Train a Stable-Baselines3 algorithm on a glimpse env (CleanRL style: read top to bottom).

``glimpse-env train ppo --env GlimpseEnv-v0 --steps 200000``

The algorithm steps the env's batched core through :class:`glimpse_env.faces.sb3.GlimpseSB3VecEnv`
(``--num-envs`` episodes as one batch, no per-env Python objects), in the action form of its
:class:`~agents.sb3.algos.AlgoSpec` (flat Box for PPO/A2C/RecurrentPPO, grid x class for DQN),
with the episode's glimpses stacked for memoryless policies. The model is saved with SB3's own
``save`` plus the decoding metadata (:func:`agents.sb3.policy.save_model`), so ``PPO.load`` reads
it and ``glimpse-env gif --policy MODEL.zip`` plays it. At the end the deterministic policy is
evaluated on the held-out split (every image once, fixed canvases).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack

from agents.harness import run_command
from agents.harness.budget import StepArgs, train_save_test
from agents.learning_curve import LearningCurve, Point
from agents.sb3.algos import ALGOS, AlgoSpec
from agents.sb3.metadata import SB3Metadata
from agents.sb3.policy import SB3Policy, metadata_from_venv, save_model
from glimpse_env.faces.sb3 import make_sb3_vec_env

__all__ = [
    "Args",
    "SB3Run",
    "learn_with_curve",
    "main",
    "make_training_env",
    "train_and_save",
    "train_sb3",
    "whole_rollouts",
]


@dataclass(kw_only=True)
class Args(StepArgs):
    """Train a Stable-Baselines3 algorithm on a glimpse env and save it as SB3's zip."""

    device: str = "cpu"
    """torch device of the networks (the env core stays on the CPU)."""
    action: Literal["flat", "discrete"] | None = None
    """Action form: 'flat' Box or 'discrete' grid x class (default: the algorithm's)."""
    frame_stack: bool | None = None
    """Stack the episode's glimpses for a memoryless policy (default: the algorithm's)."""
    out: str | None = None
    """The model file; default runs/sb3/ALGO_ENV_seedSEED.zip."""


def make_training_env(
    spec: AlgoSpec,
    env_id: str,
    env_kwargs: dict[str, Any],
    num_envs: int | None = None,
    action: Literal["flat", "discrete"] | None = None,
    frame_stack: bool | None = None,
) -> VecEnv:
    """The SB3 VecEnv an algorithm trains on: the batched adapter, maybe frame-stacked."""
    venv: VecEnv = make_sb3_vec_env(
        env_id, num_envs or spec.num_envs, action or spec.action, **env_kwargs
    )
    stack = spec.frame_stack if frame_stack is None else frame_stack
    if stack:
        venv = VecFrameStack(venv, venv.env.core.config.num_glimpses)
    return venv


class CurveCallback(BaseCallback):
    """Feeds finished training episodes (correct?, return) to a :class:`LearningCurve`."""

    def __init__(self, curve: LearningCurve, verbose: bool = False) -> None:
        super().__init__()
        self.curve = curve
        self.print_points = verbose
        self._returns: np.ndarray | None = None

    def _on_step(self) -> bool:
        rewards, dones = self.locals["rewards"], self.locals["dones"]
        if self._returns is None:
            self._returns = np.zeros(len(rewards))
        self._returns += rewards
        finished = np.flatnonzero(dones)
        infos = self.locals["infos"]
        points = len(self.curve.points)
        self.curve.add(
            self.num_timesteps,
            [infos[i].get("correct", False) for i in finished],
            self._returns[finished],
        )
        self._returns[finished] = 0.0
        if self.print_points and len(self.curve.points) > points:
            p = self.curve.points[-1]
            print(
                f"steps {p['env_steps']}: train accuracy {p['accuracy']:.3f} "
                f"return {p['return']:.3f} ({p['episodes']} episodes)",
                flush=True,
            )
        return True


def whole_rollouts(model: BaseAlgorithm, steps: int) -> int:
    """``steps`` rounded down to whole rollouts (``n_steps * num_envs``, at least one) for an
    on-policy algorithm, which trains on whole rollouts; ``steps`` for the others."""
    if not isinstance(model, OnPolicyAlgorithm):
        return steps
    rollout = model.n_steps * model.n_envs
    return max(rollout, steps // rollout * rollout)


def learn_with_curve(
    model: BaseAlgorithm,
    steps: int,
    curve_points: int = 50,
    verbose: bool = False,
    on_point: Callable[[Point], None] | None = None,
    **learn: Any,
) -> tuple[LearningCurve, float]:
    """``model.learn(steps, **learn)`` with a learning curve of about ``curve_points`` points of
    its training episodes, each also given to ``on_point`` as it comes; ``(curve, wall time of
    learn in seconds)``."""
    curve = LearningCurve(interval=max(steps // curve_points, 1), on_point=on_point)
    started = time.perf_counter()
    model.learn(steps, callback=CurveCallback(curve, verbose), **learn)
    train_time = time.perf_counter() - started
    curve.finish(model.num_timesteps)
    return curve, train_time


@dataclass
class SB3Run:
    """The outcome of :func:`train_sb3`.

    Attributes:
        model: the trained algorithm.
        metadata: how to decode its actions (saved beside it).
        curve: its learning curve (training episodes, stochastic policy).
        env_steps: env steps taken.
        train_time_s: wall time of ``learn``.
    """

    model: BaseAlgorithm
    metadata: SB3Metadata
    curve: LearningCurve
    env_steps: int
    train_time_s: float

    @property
    def policy(self) -> SB3Policy:
        return SB3Policy(self.model, self.metadata)

    def save(self, path: str | os.PathLike, test_split: str | None = None) -> Path:
        """Save the model (:func:`~agents.sb3.policy.save_model`), recording the held-out split
        it is tested on; returns the path written."""
        return save_model(self.model, path, replace(self.metadata, test_split=test_split))


def train_sb3(
    algo: str,
    env_id: str,
    steps: int,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    hyperparams: dict[str, Any] | None = None,
    num_envs: int | None = None,
    action: Literal["flat", "discrete"] | None = None,
    frame_stack: bool | None = None,
    device: str = "cpu",
    curve_points: int = 50,
    verbose: bool = False,
    on_point: Callable[[Point], None] | None = None,
) -> SB3Run:
    """Train ``algo`` (a name in :data:`~agents.sb3.algos.ALGOS`) for about ``steps`` env steps.

    On-policy algorithms train on whole rollouts (``n_steps * num_envs`` steps), so ``steps`` is
    rounded down to a multiple of that (at least one rollout). ``on_point`` gets each point of
    the learning curve as it comes.
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; known: {', '.join(ALGOS)}")
    spec = ALGOS[algo]
    env_kwargs = dict(env_kwargs or {})
    venv = make_training_env(spec, env_id, env_kwargs, num_envs, action, frame_stack)
    model = spec.algo_class(
        spec.policy,
        venv,
        seed=seed,
        device=device,
        verbose=0,
        **{**spec.hyperparams, **(hyperparams or {})},
    )
    curve, train_time = learn_with_curve(
        model, whole_rollouts(model, steps), curve_points, verbose, on_point
    )
    metadata = metadata_from_venv(algo, venv, env_id, env_kwargs)
    venv.close()
    return SB3Run(model, metadata, curve, int(model.num_timesteps), train_time)


def train_and_save(algo: str, args: Args) -> Path:
    """``glimpse-env train ALGO``: train, save the zip, test on ``--test-split``; the zip's path.

    The env id, ``--env-kwargs`` and ``--hyperparams`` are checked before anything starts.
    """

    def train(env_kwargs: dict[str, Any], hyperparams: dict[str, Any]) -> SB3Run:
        return train_sb3(
            algo, args.env, args.steps, args.seed, env_kwargs, hyperparams, args.num_envs,
            args.action, args.frame_stack, args.device, verbose=args.verbose,
        )  # fmt: skip

    def save(run: SB3Run, path: str) -> Path:
        return run.save(path, args.test_split)

    return train_save_test(args, algo, train, save, default_path(algo, args))


def default_path(algo: str, args: Args) -> str:
    """Where ``glimpse-env train ALGO`` saves without ``--out``."""
    return f"runs/sb3/{algo}_{args.env}_seed{args.seed}.zip"


def main(argv: list[str] | None = None, algo: str = "ppo") -> int:
    """``glimpse-env train ALGO``."""
    return run_command(f"glimpse-env train {algo}", Args, argv, partial(train_and_save, algo))


def main_ppo(argv: list[str] | None = None) -> int:
    """``glimpse-env train ppo``."""
    return main(argv, "ppo")


def main_a2c(argv: list[str] | None = None) -> int:
    """``glimpse-env train a2c``."""
    return main(argv, "a2c")


def main_dqn(argv: list[str] | None = None) -> int:
    """``glimpse-env train dqn``."""
    return main(argv, "dqn")


def main_recurrent_ppo(argv: list[str] | None = None) -> int:
    """``glimpse-env train recurrent_ppo``."""
    return main(argv, "recurrent_ppo")


if __name__ == "__main__":
    sys.exit(main())
