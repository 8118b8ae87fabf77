"""Train the recurrent attention model against a glimpse env.

``glimpse-env train ram --env GlimpseEnv-cluttered60-v0 --reward correct --epochs 200``

The trainer steps the env's batched core (:class:`glimpse_env.core.batched.GlimpseCore`, the one
behind ``gym.make``) with tensors that stay on the device. Each epoch visits every training
image once (a seeded permutation); each batch plays ``T`` glimpses per image and minimises the
hybrid loss (:func:`agents.ram.rollout.hybrid_loss`). What is RAM's own is here
(:class:`RAMTrainer`: the model, the loss, the tests); the epoch loop is the harness's
(:func:`agents.harness.fit`): after each epoch ``last.pt`` (and ``best.pt``), one CSV row and
TensorBoard scalars under ``--out``; ``--resume`` continues from ``last.pt`` and ends with
exactly the weights of an uninterrupted run (same seed, CPU); at the end the test split,
``results.json`` and the paths written.

Several runs train at once in one process with ``--seeds 1,2`` and/or several ``--env`` ids
(``--env GlimpseEnv-translated60-v0,GlimpseEnv-cluttered60-v0``): run ``N`` of an env writes to
``OUT/seedN`` (``OUT/ENV/seedN`` with several envs), each exactly as it would train alone
(:mod:`agents.ram.multirun`); runs whose models have the same shapes share every matmul
(:func:`joint_train_batch`). Episodes are played by
:func:`agents.ram.stacked_rollout.stacked_rollout`, which never waits for the device inside
an episode.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch

from agents.harness import BaseTrainer, TrainArgs, fit, make_core, make_test_core, run_command
from agents.harness.args import config_from_args
from agents.ram.checkpoint import CHECKPOINTS
from agents.ram.evaluate import EvalResult, evaluate
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.multirun import fit_runs
from agents.ram.rollout import hybrid_loss
from agents.ram.stacked import StackedRAM
from agents.ram.stacked_rollout import stacked_rollout
from glimpse_env.commands.cli_args import parse_json_object
from glimpse_env.core.batched import GlimpseCore

__all__ = ["Args", "RAMTrainer", "joint_train_batch", "main", "run_args", "train"]


@dataclass(kw_only=True)
class Args(TrainArgs):
    """Train RAM (Mnih et al. 2014) on a glimpse env with the hybrid supervised + REINFORCE loss."""

    env: str = "GlimpseEnv-v0"
    """The env id (GlimpseEnv-v0, GlimpseEnv-translated60-v0, GlimpseEnv-cluttered60-v0, ...);
    several, comma-separated, train together (each in OUT/ENV/seedN)."""
    seeds: str | None = None
    """Train several seeds together in one process, e.g. '1,2' (run N in OUT/seedN, or OUT as a
    pattern like 'runs/ram-{name}-seed{seed}'); default: --seed alone, in OUT."""
    epochs: int = 200
    """Passes over the training split."""
    out: str | None = "runs/ram"
    """Output folder: last.pt, best.pt, metrics.csv, tensorboard/, results.json."""
    reward: str | None = None
    """The env's reward plugin, which trains the location policy (correct, correct_entropy,
    information_gain or any registered name); default: the env's (correct)."""
    reward_kwargs: str | None = None
    """Keyword arguments of the reward as a JSON object, e.g. '{"beta": 0.5}'."""
    val_split: str | None = None
    """A split evaluated every epoch to choose best.pt; default none (best = training accuracy)."""
    reinforce_weight: float = 1.0
    """Weight of the REINFORCE term in the hybrid loss."""
    hidden_size: int = 256
    """Width of the core network's state (the paper's 256)."""
    glimpse_hidden: int = 128
    """Width of h_g and h_l (the paper's 128)."""
    glimpse_features: int = 256
    """Width of g, the glimpse network's output (the paper's 256)."""
    core: Literal["rnn", "lstm"] = "rnn"
    """Core network: the paper's ReLU RNN, or an LSTM."""
    location_std: float = 0.1
    """Fixed std of the Gaussian location policy ([-1, 1] units)."""
    reinforce_to_core: bool = False
    """Let REINFORCE train the core and glimpse networks too (the paper's choice)."""
    mc_samples: int = 0
    """At the end, also evaluate with M sampled episodes per image (0: deterministic only)."""


def model_config(args: Args, glimpse_shape: tuple[int, int, int], num_classes: int) -> RAMConfig:
    """The model's sizes from the flags of the same names, its input and output from the env."""
    return config_from_args(
        RAMConfig,
        args,
        glimpse_shape=glimpse_shape,
        num_classes=num_classes,
        location_hidden=args.glimpse_hidden,
    )


def training_env_kwargs(args: Args) -> dict[str, Any]:
    """The kwargs of the training env: the id's preset, --env-kwargs, then the named flags."""
    reward_kwargs = None
    if args.reward_kwargs is not None:
        reward_kwargs = parse_json_object(args.reward_kwargs, "--reward-kwargs")
    return args.resolve_env_kwargs(
        device=args.device, reward=args.reward, reward_kwargs=reward_kwargs
    )


class RAMTrainer(BaseTrainer):
    """RAM's part of a run: the training, validation and test cores, the model, the hybrid loss.

    The cores are made (and the data loaded) before the model, with the seed set just before
    the model's initialisation, so a seed gives the same weights as it always did.
    """

    name = "ram"
    metrics = (
        "loss",
        "cross_entropy",
        "reinforce",
        "baseline_loss",
        "train_accuracy",
        "train_reward",
    )
    eval_columns = ("val_accuracy", "test_accuracy")
    run_control = ("mc_samples",)
    checkpoints = CHECKPOINTS

    def __init__(self, args: Args, cores: dict[str, GlimpseCore] | None = None) -> None:
        """``cores``: a cache shared by runs trained together (runs of one env step one core)."""
        self.args = args
        self.kwargs = training_env_kwargs(args)
        cores = {} if cores is None else cores

        def core(kwargs: dict[str, Any], test: bool) -> GlimpseCore:
            key = json.dumps([kwargs, test], sort_keys=True, default=repr)
            if key not in cores:
                cores[key] = make_test_core(kwargs) if test else make_core(kwargs)
            return cores[key]

        self.core = core(self.kwargs, test=False)
        self.test_core = core({**self.kwargs, "split": args.test_split}, test=True)
        self.val_core = None
        if args.val_split:
            self.val_core = core({**self.kwargs, "split": args.val_split}, test=True)
        self.best_metric = "val_accuracy" if self.val_core is not None else "train_accuracy"
        self.num_images = self.core.num_images
        torch.manual_seed(args.seed)
        self.config = model_config(args, self.core.glimpse_shape, self.core.num_classes)
        self.model = RecurrentAttentionModel(self.config).to(torch.device(args.device))

    def describe(self) -> str:
        return f"RAM on {self.args.env} ({self.core.dataset_name}, {self.num_images} images)"

    def train_batch(
        self, index: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        losses, sums = joint_train_batch([self], [index], [generator])
        return losses[0], sums[0]

    def evaluate(self, test: bool) -> dict[str, float]:
        cores = {"val_accuracy": self.val_core, "test_accuracy": self.test_core if test else None}
        return {
            column: evaluate(self.model, core, seed=self.args.seed).accuracy
            for column, core in cores.items()
            if core is not None
        }

    def checkpoint_info(self) -> dict[str, Any]:
        return {
            "model_config": self.config.to_dict(),
            "env_id": self.args.env,
            "env_kwargs": self.kwargs,
            "test_split": self.args.test_split,
        }

    def test(self) -> dict[str, Any]:
        """The last weights on every test image once (fixed canvases): deterministic, and
        Monte-Carlo with ``--mc-samples``."""
        args = self.args
        results: list[EvalResult] = [evaluate(self.model, self.test_core, seed=args.seed)]
        if args.mc_samples > 0:
            results.append(evaluate(self.model, self.test_core, args.mc_samples, seed=args.seed))
        for result in results:
            print(f"test ({args.test_split}) {result.summary()}")
        return {
            "env": args.env,
            "env_kwargs": self.kwargs,
            "test_split": args.test_split,
            "results": [r.to_dict() for r in results],
        }


def joint_train_batch(
    trainers: Sequence[RAMTrainer],
    indexes: Sequence[torch.Tensor],
    generators: Sequence[torch.Generator],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Play run ``r``'s images ``indexes[r]`` ``(B,)`` with ``generators[r]``, for every run.

    Runs whose models share a config are stacked (:class:`~agents.ram.stacked.StackedRAM`) and
    play one :func:`~agents.ram.stacked_rollout.stacked_rollout`; their losses are the hybrid
    loss of each run's own episodes.

    Returns:
        ``(losses (R,), sums (R, 6))``: each run's loss, and its batch's sums of
        :attr:`RAMTrainer.metrics` (detached).
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for r, trainer in enumerate(trainers):
        core = trainer.core
        key = (
            trainer.config,
            core.config.num_glimpses,
            str(core.device),
            trainer.args.reinforce_weight,
        )
        groups.setdefault(key, []).append(r)
    losses: list[torch.Tensor] = [torch.empty(())] * len(trainers)
    sums: list[torch.Tensor] = [torch.empty(())] * len(trainers)
    for members in groups.values():
        first_on_core: dict[int, int] = {}
        for r in members:
            first_on_core.setdefault(id(trainers[r].core), r)
        members.sort(key=lambda r: first_on_core[id(trainers[r].core)])  # one core's runs adjacent
        group = [trainers[r] for r in members]
        episodes = stacked_rollout(
            StackedRAM([t.model for t in group]),
            [t.core for t in group],
            torch.stack([indexes[r] for r in members]),
            [generators[r] for r in members],
        )
        parts = hybrid_loss(episodes, group[0].args.reinforce_weight)
        with torch.no_grad():
            batch = episodes.label.shape[-1]
            correct = (episodes.logits[-1].argmax(-1) == episodes.label).sum(-1)
            group_sums = torch.stack(
                [
                    *(
                        p.detach() * batch
                        for p in (parts.total, parts.cross_entropy, parts.reinforce, parts.baseline)
                    ),
                    correct.to(parts.total.dtype),
                    episodes.rewards.sum((0, 2)),
                ],
                1,
            )
        for i, r in enumerate(members):
            losses[r], sums[r] = parts.total[i], group_sums[i]
    return torch.stack(losses), torch.stack(sums)


def parse_seeds(text: str) -> list[int]:
    """``'1,2,3'`` -> ``[1, 2, 3]`` (ValueError naming --seeds)."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError as err:
        raise ValueError(f"--seeds must be comma-separated ints, e.g. '1,2', got {text!r}") from err
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must not repeat a seed, got {text!r}")
    return seeds


def short_name(env_id: str) -> str:
    """``GlimpseEnv-cluttered60-v0`` -> ``cluttered60``; ``GlimpseEnv-v0`` -> ``v0``."""
    name = env_id.removeprefix("GlimpseEnv-")
    return name if name == "v0" else name.removesuffix("-v0")


def run_args(args: Args) -> list[Args]:
    """One single-run ``Args`` per env and seed of ``args`` (``--env A,B --seeds 1,2``), each
    with its own output folder: ``OUT/seedN``, or ``OUT/ENV/seedN`` for several envs; an
    ``OUT`` with ``{env}``, ``{name}`` (short env name) or ``{seed}`` is that pattern filled in
    (``runs/ram-{name}-seed{seed}``); so is an ``--init-from`` pattern."""
    envs = args.env.split(",")
    if len(set(envs)) != len(envs):
        raise ValueError(f"--env must not repeat an id, got {args.env!r}")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [args.seed]

    def out(env: str, seed: int) -> str | None:
        if args.out is None:
            return None
        if "{" in args.out:
            return fill_pattern(args.out, "--out", env, seed)
        folder = Path(args.out) / env if len(envs) > 1 else Path(args.out)
        return str(folder / f"seed{seed}")

    def init_from(env: str, seed: int) -> str | None:
        if args.init_from is None or "{" not in args.init_from:
            return args.init_from
        return fill_pattern(args.init_from, "--init-from", env, seed)

    return [
        replace(
            args, env=env, seed=seed, seeds=None, out=out(env, seed), init_from=init_from(env, seed)
        )
        for env in envs
        for seed in seeds
    ]


def fill_pattern(pattern: str, flag: str, env: str, seed: int) -> str:
    """``pattern`` with ``{env}``, ``{name}`` (short env name) and ``{seed}`` filled in."""
    try:
        return pattern.format(env=env, name=short_name(env), seed=seed)
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(
            f"{flag} {pattern!r}: a pattern may use {{env}}, {{name}} and {{seed}} ({err})"
        ) from err


def train(args: Args, on_epoch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the training described by ``args``; returns the final test results (also in JSON).

    Several runs (``--seeds``, several ``--env`` ids) return ``{"runs": [results, ...]}``.
    ``on_epoch`` (one run only) gets each epoch's row of ``metrics.csv`` as the epoch ends.
    """
    if args.seeds is None and "," not in args.env:
        if any(path is not None and "{" in path for path in (args.out, args.init_from)):
            args = run_args(args)[0]
        return fit(args, RAMTrainer, on_epoch)
    if on_epoch is not None:
        raise ValueError("on_epoch follows one run; these arguments train several")
    summaries = fit_runs(run_args(args), partial(RAMTrainer, cores={}), joint_train_batch)
    return {"runs": summaries}


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env train ram``."""
    return run_command("glimpse-env train ram", Args, argv, train)


if __name__ == "__main__":
    sys.exit(main())
