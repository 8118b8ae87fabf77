"""Train the EIG agent in the paper's three phases (CleanRL style: read top to bottom).

::

    glimpse-env train eig --env GlimpseEnv-fashion-v0 --split train --test-split test \\
        --phase 1 --out runs/eig-fashion/p1
    glimpse-env train eig ... --phase 2 --init runs/eig-fashion/p1/last.pt --out runs/eig-fashion/p2
    glimpse-env train eig ... --phase 3 --init runs/eig-fashion/p2/last.pt --out runs/eig-fashion/p3

Phases (Rangrej & Clark 2021, Sec. 3.4):

1. F, R and C with random glimpses: cross-entropy of the belief after every glimpse.
2. The partial VAE alone (F, R, C frozen), random glimpses: the negative ELBO of the features of
   the cells visited so far, ``-log N(f | D(z), sigma^2) + KL(q(z | h_t) || N(0, I))`` at every
   step (the features are the targets, never trained through this loss).
3. Everything, with glimpses ``2..T`` chosen by EIG: ``ce_weight * cross-entropy + VAE loss``.

The trainer steps the env's batched core (:class:`glimpse_env.core.batched.GlimpseCore`, the one
behind
``gym.make``). After each epoch it writes ``last.pt`` (atomically), one CSV row and TensorBoard
scalars under ``--out``; ``--resume`` continues from ``last.pt`` and ends with exactly the weights
of an uninterrupted run (same seed, CPU). At the end it tests every location rule on the test
split and writes ``results.json``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from tqdm import tqdm

from agents.eig.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from agents.eig.episodes import Rule, cell_features, play
from agents.eig.evaluate import RuleResult, evaluate
from agents.eig.lookahead import visited_mask
from agents.eig.model import EIGConfig, EIGModel
from agents.ram.envs import env_kwargs, make_core, parse_json_kwargs
from agents.ram.evaluate import make_test_core
from agents.training_log import MetricsLog, check_resumable
from glimpse_env.commands.cli_args import parse_args
from glimpse_env.core.batched import EpisodeState, GlimpseCore
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT, ImageDataset

__all__ = ["Args", "main", "train", "training_loss"]


@dataclass
class Args:
    """Train the probabilistic hard-attention agent (Rangrej & Clark 2021), one phase per run."""

    env: str = "GlimpseEnv-v0"
    """The env id (GlimpseEnv-v0, GlimpseEnv-fashion-v0, GlimpseEnv-cifar10-v0, ...)."""
    phase: Literal[1, 2, 3] = 1
    """1: F, R, C with random glimpses; 2: the partial VAE alone; 3: all, EIG glimpses."""
    init: str | None = None
    """Start from this checkpoint (phase 2: a phase-1 one; phase 3: a phase-2 one); its model
    sizes are used and the size flags below ignored."""
    split: str = SHARED_TRAIN_SPLIT
    """The training split ('train' where the full set is on disk; offline MNIST: test[:8000])."""
    test_split: str = SHARED_TEST_SPLIT
    """The split tested at the end (and every --eval-every epochs)."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA, else a per-user cache."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object, e.g. '{"num_glimpses": 4}'."""
    epochs: int = 10
    """Passes over the training split."""
    batch_size: int = 128
    """Episodes (images) per gradient step."""
    learning_rate: float = 1e-3
    """Adam's learning rate (at the start of the schedule; the paper's 1e-3)."""
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    """Learning-rate schedule over the epochs."""
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
    eval_every: int = 0
    """Test every N epochs for the learning curve (0: only at the end)."""
    test: bool = True
    """Test every location rule on --test-split at the end (results.json)."""
    eval_seed: int = 0
    """Seed of the test's first glimpses (as `glimpse-env eval ram --seed`)."""
    seed: int = 1
    """Seed of the initialisation, the image order, the glimpses and the latent samples."""
    device: str = "cpu"
    """torch device: cpu or cuda."""
    threads: int | None = None
    """torch CPU threads (default: torch's)."""
    out: str = "runs/eig"
    """Output folder: last.pt, metrics.csv, tensorboard/, results.json."""
    resume: bool = False
    """Continue from OUT/last.pt (same arguments), or start afresh if there is none."""
    progress: bool = True
    """Show a progress bar per epoch."""
    tensorboard: bool = True
    """Write TensorBoard scalars to OUT/tensorboard (needs the tensorboard package)."""


# Arguments that may differ between a run and its resumption (they do not change the weights).
RUN_CONTROL = ("resume", "progress", "tensorboard", "eval_every", "threads", "test")
CSV_COLUMNS = (
    "epoch",
    "learning_rate",
    "loss",
    "cross_entropy",
    "feature_nll",
    "kl",
    "train_accuracy",
    "test_accuracy",
    "epoch_time_s",
    "train_time_s",
)


def model_config(args: Args, core: GlimpseCore) -> EIGConfig:
    """The model's sizes from the flags and its grid from the env's geometry."""
    _, height, width = core.canvas_shape
    patch = core.config.patch_size
    return EIGConfig(
        glimpse_shape=core.glimpse_shape,
        num_classes=core.num_classes,
        canvas_size=min(height, width),
        grid_stride=args.grid_stride or max(patch // 2, 1),
        cnn_channels=args.cnn_channels,
        feature_size=args.feature_size,
        hidden_size=args.hidden_size,
        latent_size=args.latent_size,
        flow_layers=args.flow_layers,
        decoder_channels=args.decoder_channels,
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


def train(
    args: Args, dataset: ImageDataset | None = None, test_dataset: ImageDataset | None = None
) -> dict[str, Any]:
    """Run the phase described by ``args``; returns the final test results (also in JSON).

    Args:
        args: the command's arguments.
        dataset: train on these images instead of ``args.env``'s dataset (Python API only).
        test_dataset: test on these (default: ``dataset``'s images, if given).
    """
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)

    # --- the envs: the training core and the test core (fixed canvases) of the same id
    overrides = {**parse_json_kwargs(args.env_kwargs), "split": args.split, "device": args.device}
    if args.data_root is not None:
        overrides["data_root"] = args.data_root
    kwargs = env_kwargs(args.env, **overrides)
    if dataset is not None:
        kwargs["dataset"] = dataset
    core = make_core(kwargs)
    test_kwargs = {**kwargs, "split": args.test_split}
    if test_dataset is not None:
        test_kwargs["dataset"] = test_dataset
    test_core = make_test_core(test_kwargs)

    # --- the model (fresh, or the previous phase's), the phase's trainable part, the optimiser
    # and schedule, and the one RNG of the run (images, glimpses, latent samples)
    torch.manual_seed(args.seed)
    if args.init is not None:
        model = load_model(load_checkpoint(args.init, device), device, source=args.init)
    elif args.phase == 1:
        model = EIGModel(model_config(args, core)).to(device)
    else:
        raise ValueError(f"phase {args.phase} starts from the previous phase: pass --init CKPT")
    config = model.config
    if (config.glimpse_shape, config.num_classes) != (core.glimpse_shape, core.num_classes):
        raise ValueError(
            f"--init {args.init} reads glimpses {config.glimpse_shape} of {config.num_classes} "
            f"classes; {args.env} gives {core.glimpse_shape} of {core.num_classes}"
        )
    optimizer = torch.optim.Adam(trainable_parameters(model, args.phase), lr=args.learning_rate)
    if args.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    else:
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=1.0)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    start_epoch, train_time = 0, 0.0

    last_path = out / "last.pt"
    if args.resume and last_path.is_file():
        saved = load_checkpoint(last_path, device=device)
        check_resumable(saved.get("args", {}), args, last_path, RUN_CONTROL)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"]["torch"])
        generator.set_state(saved["rng"]["generator"])
        start_epoch, train_time = saved["epoch"], saved["train_time_s"]
        print(f"resuming {last_path} after epoch {start_epoch}")
    elif args.resume:
        print(f"--resume: no {last_path} yet, starting afresh")
    log = MetricsLog(out, CSV_COLUMNS, "eig", start_epoch, args.tensorboard)

    def checkpoint(epoch: int) -> dict[str, Any]:
        return {
            "model_config": config.to_dict(),
            "model": model.state_dict(),
            "env_id": args.env,
            "env_kwargs": storable_kwargs(kwargs),
            "test_split": args.test_split,
            "phase": args.phase,
            "args": asdict(args),
            "epoch": epoch,
            "train_time_s": train_time,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "generator": generator.get_state()},
        }

    def test(rules: list[Rule]) -> list[RuleResult]:
        return [evaluate(model, test_core, r, args.eval_samples, args.eval_seed) for r in rules]

    print(
        f"training EIG phase {args.phase} on {args.env} ({core.dataset_name}, {core.num_images} "
        f"images, {config.grid_size}x{config.grid_size} grid) on {device}"
    )
    model.train()
    for epoch in range(start_epoch + 1, args.epochs + 1):
        started = time.perf_counter()
        sums = torch.zeros(5, device=device)  # loss, ce, nll, kl, correct
        order = torch.randperm(core.num_images, generator=generator, device=device)
        bar = tqdm(
            order.split(args.batch_size),
            desc=f"phase {args.phase} epoch {epoch}/{args.epochs}",
            disable=not args.progress,
        )
        for step, index in enumerate(bar):
            # Play one batch of episodes on the env's core, then one step of the phase's loss.
            state = core.reset(generator, index=index)
            parts = training_loss(
                model, core, state, args.phase, generator, args.ce_weight, args.train_samples
            )
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            optimizer.step()
            with torch.no_grad():
                values = [
                    parts[k].detach() * len(index)
                    for k in ("loss", "cross_entropy", "feature_nll", "kl")
                ]
                sums += torch.stack([*values, parts["correct"].to(sums.dtype)])
            if args.progress and step % 20 == 0:
                bar.set_postfix(loss=f"{parts['loss'].item():.3f}")
        bar.close()
        learning_rate = scheduler.get_last_lr()[0]
        scheduler.step()
        epoch_time = time.perf_counter() - started
        train_time += epoch_time

        mean = (sums / core.num_images).tolist()
        row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS, "")
        row.update(
            epoch=epoch,
            learning_rate=learning_rate,
            loss=mean[0],
            cross_entropy=mean[1],
            feature_nll=mean[2],
            kl=mean[3],
            train_accuracy=mean[4],
            epoch_time_s=epoch_time,
            train_time_s=train_time,
        )
        if args.eval_every and epoch % args.eval_every == 0:
            row["test_accuracy"] = test(rules_for_phase(args.phase)[:1])[0].accuracy_per_glimpse[-1]
        log.write(row)
        print(
            f"epoch {epoch}: loss {mean[0]:.4f} ce {mean[1]:.4f} nll {mean[2]:.2f} "
            f"kl {mean[3]:.2f} train acc {mean[4]:.4f}"
            + (f" test acc {row['test_accuracy']:.4f}" if row["test_accuracy"] != "" else "")
            + f" ({epoch_time:.1f}s)"
        )
        save_checkpoint(last_path, checkpoint(epoch))
    log.close()

    # --- the final test: every test image once per rule, the same first glimpses for each
    results = test(rules_for_phase(args.phase)) if args.test else []
    if results:
        print(f"test ({args.test_split}, {test_core.num_images} images):")
    for result in results:
        print(result.summary())
    summary = {
        "env": args.env,
        "env_kwargs": storable_kwargs(kwargs),
        "phase": args.phase,
        "test_split": args.test_split,
        "epochs": args.epochs,
        "train_time_s": train_time,
        "device": str(device),
        "results": [r.to_dict() for r in results],
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env train eig``."""
    args = parse_args(Args, argv, prog="glimpse-env train eig")
    try:
        train(args)
    except (CheckpointError, ValueError, FileNotFoundError) as err:
        print(f"glimpse-env train eig: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
