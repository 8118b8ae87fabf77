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
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

import torch

from agents.harness import BaseTrainer, TrainArgs, fit, make_core, make_test_core, run_command
from agents.harness.args import config_from_args
from agents.ram.checkpoint import CHECKPOINTS
from agents.ram.evaluate import EvalResult, evaluate
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import hybrid_loss, rollout
from glimpse_env.commands.cli_args import parse_json_object

__all__ = ["Args", "RAMTrainer", "main", "train"]


@dataclass(kw_only=True)
class Args(TrainArgs):
    """Train RAM (Mnih et al. 2014) on a glimpse env with the hybrid supervised + REINFORCE loss."""

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

    def __init__(self, args: Args) -> None:
        self.args = args
        self.kwargs = training_env_kwargs(args)
        self.core = make_core(self.kwargs)
        self.test_core = make_test_core({**self.kwargs, "split": args.test_split})
        self.val_core = None
        if args.val_split:
            self.val_core = make_test_core({**self.kwargs, "split": args.val_split})
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
        # Play one batch of episodes on the env's core; the loss is the hybrid loss.
        state = self.core.reset(generator, index=index)
        episodes = rollout(self.model, self.core, state, generator)
        losses = hybrid_loss(episodes, self.args.reinforce_weight)
        with torch.no_grad():
            correct = (episodes.logits[-1].argmax(-1) == episodes.label).sum()
            parts = (losses.total, losses.cross_entropy, losses.reinforce, losses.baseline)
            sums = torch.stack(
                [*(p.detach() * len(index) for p in parts), correct, episodes.rewards.sum()]
            )
        return losses.total, sums

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


def train(args: Args) -> dict[str, Any]:
    """Run the training described by ``args``; returns the final test results (also in JSON)."""
    return fit(args, RAMTrainer)


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env train ram``."""
    return run_command("glimpse-env train ram", Args, argv, train)


if __name__ == "__main__":
    sys.exit(main())
