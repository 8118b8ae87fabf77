"""Train the EIG agent in the paper's three phases.

::

    glimpse-env train eig --env GlimpseEnv-fashion-v0 --split train --test-split test \\
        --phase 1 --out runs/eig-fashion/p1
    glimpse-env train eig ... --phase 2 --init-from runs/eig-fashion/p1/last.pt \\
        --out runs/eig-fashion/p2
    glimpse-env train eig ... --phase 3 --init-from runs/eig-fashion/p2/last.pt \\
        --out runs/eig-fashion/p3

Phases (Rangrej & Clark 2021, Sec. 3.4):

1. F, R and C with random glimpses: cross-entropy of the belief after every glimpse.
2. The partial VAE alone (F, R, C frozen), random glimpses: the negative ELBO of the features of
   the cells visited so far, ``-log N(f | D(z), sigma^2) + KL(q(z | h_t) || N(0, I))`` at every
   step (the features are the targets, never trained through this loss).
3. Everything, with glimpses ``2..T`` chosen by EIG: ``ce_weight * cross-entropy + VAE loss``.

The trainer steps the env's batched core (:class:`glimpse_env.core.batched.GlimpseCore`, the one
behind ``gym.make``). What is EIG's own is here (:class:`EIGTrainer`: the model, the phase's
loss and trainable part, the tests of every location rule); the epoch loop is the harness's
(:func:`agents.harness.fit`): after each epoch ``last.pt`` (atomically), one CSV row and
TensorBoard scalars under ``--out``; ``--resume`` continues from ``last.pt`` and ends with
exactly the weights of an uninterrupted run (same seed, CPU); at the end every location rule on
the test split, ``results.json`` and the paths written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from agents.eig.checkpoint import CHECKPOINTS, load_checkpoint, load_model
from agents.eig.episodes import Rule, cell_features, play
from agents.eig.evaluate import RuleResult, evaluate
from agents.eig.lookahead import visited_mask
from agents.eig.model import EIGConfig, EIGModel
from agents.harness import BaseTrainer, TrainArgs, fit, make_core, make_test_core, run_command
from agents.harness.args import config_from_args
from glimpse_env.core.batched import EpisodeState, GlimpseCore
from glimpse_env.data.catalog import ImageDataset

__all__ = ["Args", "EIGTrainer", "main", "train", "training_loss"]


@dataclass(kw_only=True)
class Args(TrainArgs):
    """Train the probabilistic hard-attention agent (Rangrej & Clark 2021), one phase per run."""

    out: str | None = "runs/eig"
    """Output folder: last.pt, metrics.csv, tensorboard/, results.json."""
    phase: Literal[1, 2, 3] = 1
    """1: F, R, C with random glimpses; 2: the partial VAE alone; 3: all, EIG glimpses."""
    init_from: str | None = None
    """Start from this checkpoint (phase 2: a phase-1 one; phase 3: a phase-2 one); its model
    sizes are used and the size flags below ignored."""
    ce_weight: float = 16.0
    """Phase 3: weight of the cross-entropy against the VAE loss (the paper's 16)."""
    train_samples: int = 1
    """Phase 3: latent samples P of the lookahead while training (the paper's 1)."""
    eval_samples: int = 20
    """Latent samples P of the lookahead at test (the paper's 20)."""
    grid_stride: int | None = None
    """Pixels between grid cells (default: patch_size // 2, the env's discrete grid)."""
    cnn_channels: int = 32
    """Channels of the glimpse CNN's first layer (then x2, x4)."""
    feature_size: int = 128
    """D: width of the glimpse features (what the VAE's decoder predicts per cell)."""
    hidden_size: int = 256
    """H: width of the recurrent state."""
    latent_size: int = 32
    """Z: the partial VAE's latent size."""
    flow_layers: int = 4
    """Affine coupling layers of the flow encoder."""
    decoder_channels: int = 64
    """Channels of the decoder's convolutions over the grid."""
    test: bool = True
    """Test every location rule on --test-split at the end (results.json)."""
    eval_seed: int = 0
    """Seed of the test's first glimpses (as `glimpse-env eval ram --seed`)."""


def model_config(args: Args, core: GlimpseCore) -> EIGConfig:
    """The model's sizes from the flags of the same names, its grid from the env's geometry."""
    _, height, width = core.canvas_shape
    return config_from_args(
        EIGConfig,
        args,
        glimpse_shape=core.glimpse_shape,
        num_classes=core.num_classes,
        canvas_size=min(height, width),
        grid_stride=args.grid_stride or max(core.config.patch_size // 2, 1),
    )


def training_loss(
    model: EIGModel,
    core: GlimpseCore,
    state: EpisodeState,
    phase: int,
    generator: torch.Generator,
    ce_weight: float = 16.0,
    train_samples: int = 1,
) -> dict[str, torch.Tensor]:
    """Play one batch of episodes and return the phase's loss and its parts (scalars).

    Returns:
        ``{"loss", "cross_entropy", "feature_nll", "kl", "correct"}``: means per episode and
        step, and the number of right final guesses.
    """
    rule: Rule = "eig" if phase == 3 else "random"
    with torch.set_grad_enabled(phase != 2 and torch.is_grad_enabled()):
        episodes = play(model, core, state, rule, generator, train_samples)
    steps = episodes.cells.shape[0]
    cross_entropy = F.cross_entropy(episodes.logits.flatten(0, 1), episodes.label.repeat(steps))
    zero = cross_entropy.new_zeros(())
    nll = kl = zero
    loss = cross_entropy
    if phase in (2, 3):
        target = cell_features(model, core, state).repeat(steps, 1, 1)  # (T*B, L, D)
        visited = visited_mask(episodes.cells, len(model.grid)).flatten(0, 1)  # (T*B, L)
        nll_rows, kl_rows = model.vae.negative_elbo(
            episodes.hidden.flatten(0, 1), target, visited, generator
        )
        nll, kl = nll_rows.mean(), kl_rows.mean()
        vae_loss = (nll + kl) / model.config.latent_size  # the paper's normalisation
        loss = vae_loss if phase == 2 else ce_weight * cross_entropy + vae_loss
    correct = (episodes.logits[-1].argmax(-1) == episodes.label).sum()
    return {
        "loss": loss,
        "cross_entropy": cross_entropy,
        "feature_nll": nll,
        "kl": kl,
        "correct": correct,
    }


def trainable_parameters(model: EIGModel, phase: int) -> list[torch.nn.Parameter]:
    """Phase 1: F, R, C. Phase 2: the VAE (the rest frozen). Phase 3: everything."""
    for module in model.classification_modules():
        module.requires_grad_(phase != 2)
    model.vae.requires_grad_(phase != 1)
    return [p for p in model.parameters() if p.requires_grad]


def rules_for_phase(phase: int) -> list[Rule]:
    """The location rules tested after a phase (EIG needs the VAE of phase 2)."""
    return ["random", "center"] if phase == 1 else ["eig", "random", "center"]


def storable_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Env kwargs a ``weights_only`` checkpoint can hold: a custom dataset becomes its name."""
    dataset = kwargs.get("dataset")
    return {**kwargs, "dataset": dataset.name} if isinstance(dataset, ImageDataset) else kwargs


class EIGTrainer(BaseTrainer):
    """EIG's part of a run: the cores, the model (fresh, or ``--init-from``'s), the phase's loss.

    Args:
        args: the command's arguments.
        dataset: train on these images instead of ``args.env``'s dataset (Python API only).
        test_dataset: test on these (default: ``dataset``'s images, if given).
    """

    name = "eig"
    metrics = ("loss", "cross_entropy", "feature_nll", "kl", "train_accuracy")
    eval_columns = ("test_accuracy",)
    run_control = ("test",)
    checkpoints = CHECKPOINTS

    def __init__(
        self,
        args: Args,
        dataset: ImageDataset | None = None,
        test_dataset: ImageDataset | None = None,
    ) -> None:
        self.args = args
        device = torch.device(args.device)
        self.kwargs = args.resolve_env_kwargs(device=args.device)
        if dataset is not None:
            self.kwargs["dataset"] = dataset
        self.core = make_core(self.kwargs)
        test_kwargs = {**self.kwargs, "split": args.test_split}
        if test_dataset is not None:
            test_kwargs["dataset"] = test_dataset
        self.test_core = make_test_core(test_kwargs)
        self.num_images = self.core.num_images

        # the model: fresh (phase 1) or the previous phase's, and the phase's trainable part
        torch.manual_seed(args.seed)
        if args.init_from is not None:
            saved = load_checkpoint(args.init_from, device)
            self.model = load_model(saved, device, source=args.init_from)
        elif args.phase == 1:
            self.model = EIGModel(model_config(args, self.core)).to(device)
        else:
            raise ValueError(
                f"phase {args.phase} starts from the previous phase: pass --init-from CKPT"
            )
        config, core = self.model.config, self.core
        if (config.glimpse_shape, config.num_classes) != (core.glimpse_shape, core.num_classes):
            raise ValueError(
                f"--init-from {args.init_from} reads glimpses {config.glimpse_shape} of "
                f"{config.num_classes} classes; {args.env} gives {core.glimpse_shape} of "
                f"{core.num_classes}"
            )
        self.model.train()

    def describe(self) -> str:
        grid = self.model.config.grid_size
        return (
            f"EIG phase {self.args.phase} on {self.args.env} ({self.core.dataset_name}, "
            f"{self.num_images} images, {grid}x{grid} grid)"
        )

    def parameters(self) -> list[torch.nn.Parameter]:
        return trainable_parameters(self.model, self.args.phase)

    def train_batch(
        self, index: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # Play one batch of episodes on the env's core; the loss is the phase's.
        args = self.args
        state = self.core.reset(generator, index=index)
        parts = training_loss(
            self.model, self.core, state, args.phase, generator, args.ce_weight, args.train_samples
        )
        with torch.no_grad():
            names = ("loss", "cross_entropy", "feature_nll", "kl")
            values = [parts[k].detach() * len(index) for k in names]
            sums = torch.stack([*values, parts["correct"].to(values[0].dtype)])
        return parts["loss"], sums

    def rule_results(self, rules: list[Rule]) -> list[RuleResult]:
        """Every test image once per rule, the same first glimpses for each."""
        args = self.args
        return [
            evaluate(self.model, self.test_core, r, args.eval_samples, args.eval_seed)
            for r in rules
        ]

    def evaluate(self, test: bool) -> dict[str, float]:
        if not test:
            return {}
        first = self.rule_results(rules_for_phase(self.args.phase)[:1])[0]
        return {"test_accuracy": first.accuracy_per_glimpse[-1]}

    def checkpoint_info(self) -> dict[str, Any]:
        return {
            "model_config": self.model.config.to_dict(),
            "env_id": self.args.env,
            "env_kwargs": storable_kwargs(self.kwargs),
            "test_split": self.args.test_split,
            "phase": self.args.phase,
        }

    def test(self) -> dict[str, Any]:
        args = self.args
        results = self.rule_results(rules_for_phase(args.phase)) if args.test else []
        if results:
            print(f"test ({args.test_split}, {self.test_core.num_images} images):")
        for result in results:
            print(result.summary())
        return {
            "env": args.env,
            "env_kwargs": storable_kwargs(self.kwargs),
            "phase": args.phase,
            "test_split": args.test_split,
            "results": [r.to_dict() for r in results],
        }


def train(
    args: Args, dataset: ImageDataset | None = None, test_dataset: ImageDataset | None = None
) -> dict[str, Any]:
    """Run the phase described by ``args``; returns the final test results (also in JSON).

    Args:
        args: the command's arguments.
        dataset: train on these images instead of ``args.env``'s dataset (Python API only).
        test_dataset: test on these (default: ``dataset``'s images, if given).
    """
    return fit(args, lambda a: EIGTrainer(a, dataset, test_dataset))


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env train eig``."""
    return run_command("glimpse-env train eig", Args, argv, train)


if __name__ == "__main__":
    sys.exit(main())
