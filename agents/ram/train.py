"""Train the recurrent attention model against a glimpse env (CleanRL style: read top to bottom).

``glimpse-env train ram --env GlimpseEnv-cluttered60-v0 --reward correct --epochs 200``

The trainer steps the env's batched core (:class:`glimpse_env.core.batched.GlimpseCore`, the one
behind
``gym.make``) with tensors that stay on the device. Each epoch visits every training image once
(a seeded permutation); each batch plays ``T`` glimpses per image and minimises the hybrid loss
(:func:`agents.ram.rollout.hybrid_loss`). After each epoch it writes ``last.pt`` (and
``best.pt``), one CSV row and TensorBoard scalars under ``--out``; ``--resume`` continues from
``last.pt`` and ends with exactly the weights of an uninterrupted run (same seed, CPU).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm import tqdm

from agents.ram.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from agents.ram.envs import env_kwargs, make_core, parse_json_kwargs
from agents.ram.evaluate import EvalResult, evaluate, make_test_core
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import hybrid_loss, rollout
from agents.ram.threads import torch_threads
from agents.training_log import MetricsLog, check_resumable
from glimpse_env.commands.cli_args import parse_args
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT

__all__ = ["Args", "main", "train"]


@dataclass
class Args:
    """Train RAM (Mnih et al. 2014) on a glimpse env with the hybrid supervised + REINFORCE loss."""

    env: str = "GlimpseEnv-v0"
    """The env id (GlimpseEnv-v0, GlimpseEnv-translated60-v0, GlimpseEnv-cluttered60-v0, ...)."""
    reward: str | None = None
    """The env's reward plugin, which trains the location policy (correct, correct_entropy,
    information_gain or any registered name); default: the env's (correct)."""
    reward_kwargs: str | None = None
    """Keyword arguments of the reward as a JSON object, e.g. '{"beta": 0.5}'."""
    split: str = SHARED_TRAIN_SPLIT
    """The training split ('train' where the full set is on disk; offline: test[:8000])."""
    test_split: str = SHARED_TEST_SPLIT
    """The split evaluated at the end (and every --eval-every epochs): 'test', or test[8000:]."""
    val_split: str | None = None
    """A split evaluated every epoch to choose best.pt; default none (best = training accuracy)."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA, else a per-user cache."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object, e.g. '{"num_glimpses": 4}'."""
    epochs: int = 200
    """Passes over the training split."""
    batch_size: int = 128
    """Episodes (images) per gradient step."""
    learning_rate: float = 1e-3
    """Adam's learning rate (at the start of the schedule)."""
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    """Learning-rate schedule over the epochs."""
    max_grad_norm: float = 0.0
    """Clip the gradient's global norm to this (0: no clipping)."""
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
    eval_every: int = 0
    """Evaluate on --test-split every N epochs for the learning curve (0: only at the end)."""
    seed: int = 1
    """Seed of the model's initialisation, the image order, the canvases and the samples."""
    device: str = "cpu"
    """torch device: cpu or cuda."""
    threads: int | None = None
    """torch CPU threads (default: torch's)."""
    out: str = "runs/ram"
    """Output folder: last.pt, best.pt, metrics.csv, tensorboard/, results.json."""
    resume: bool = False
    """Continue from OUT/last.pt (same arguments), or start afresh if there is none."""
    progress: bool = True
    """Show a progress bar per epoch."""
    tensorboard: bool = True
    """Write TensorBoard scalars to OUT/tensorboard (needs the tensorboard package)."""


# Arguments that may differ between a run and its resumption (they do not change the weights).
RUN_CONTROL = ("resume", "out", "progress", "tensorboard", "eval_every", "mc_samples")

CSV_COLUMNS = (
    "epoch",
    "learning_rate",
    "loss",
    "cross_entropy",
    "reinforce",
    "baseline_loss",
    "train_accuracy",
    "train_reward",
    "val_accuracy",
    "test_accuracy",
    "epoch_time_s",
    "train_time_s",
)


def model_config(args: Args, glimpse_shape: tuple[int, int, int], num_classes: int) -> RAMConfig:
    return RAMConfig(
        glimpse_shape=glimpse_shape,
        num_classes=num_classes,
        glimpse_hidden=args.glimpse_hidden,
        location_hidden=args.glimpse_hidden,
        glimpse_features=args.glimpse_features,
        hidden_size=args.hidden_size,
        core=args.core,
        location_std=args.location_std,
        reinforce_to_core=args.reinforce_to_core,
    )


def training_env_kwargs(args: Args) -> dict[str, Any]:
    """The kwargs of the training env: the id's preset, --env-kwargs, then the named flags."""
    overrides = parse_json_kwargs(args.env_kwargs)
    overrides.update(split=args.split, device=args.device)
    if args.data_root is not None:
        overrides["data_root"] = args.data_root
    if args.reward is not None:
        overrides["reward"] = args.reward
    if args.reward_kwargs is not None:
        overrides["reward_kwargs"] = parse_json_kwargs(args.reward_kwargs, "--reward-kwargs")
    return env_kwargs(args.env, **overrides)


def train(args: Args) -> dict[str, Any]:
    """Run the training described by ``args``; returns the final test results (also in JSON)."""
    with torch_threads(args.threads):
        return _train(args)


def _train(args: Args) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)

    # --- the envs: the training core and the test core (fixed canvases) of the same id
    kwargs = training_env_kwargs(args)
    core = make_core(kwargs)
    test_core = make_test_core({**kwargs, "split": args.test_split})
    val_core = make_test_core({**kwargs, "split": args.val_split}) if args.val_split else None

    # --- the agent, its optimiser and schedule, and the one RNG of the run (images, canvases,
    # initial locations, location samples)
    torch.manual_seed(args.seed)
    config = model_config(args, core.glimpse_shape, core.num_classes)
    model = RecurrentAttentionModel(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    if args.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    else:
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=1.0)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    start_epoch, best, train_time = 0, -1.0, 0.0

    last_path, best_path = out / "last.pt", out / "best.pt"
    if args.resume and last_path.is_file():
        saved = load_checkpoint(last_path, device="cpu")  # RNG states must stay on the CPU
        check_resumable(saved.get("args", {}), args, last_path, RUN_CONTROL)
        missing = [
            k for k in ("optimizer", "scheduler", "rng", "best", "train_time_s") if k not in saved
        ]
        if missing:
            raise CheckpointError(f"cannot resume {last_path}: it lacks {missing}")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"]["torch"])
        generator.set_state(saved["rng"]["generator"])
        start_epoch, best, train_time = saved["epoch"], saved["best"], saved["train_time_s"]
        print(f"resuming {last_path} after epoch {start_epoch}")
    elif args.resume:
        print(f"--resume: no {last_path} yet, starting afresh")
    log = MetricsLog(out, CSV_COLUMNS, "ram", start_epoch, args.tensorboard)

    def checkpoint(epoch: int) -> dict[str, Any]:
        return {
            "model_config": config.to_dict(),
            "model": model.state_dict(),
            "env_id": args.env,
            "env_kwargs": kwargs,
            "test_split": args.test_split,
            "args": asdict(args),
            "epoch": epoch,
            "best": best,
            "train_time_s": train_time,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "generator": generator.get_state()},
        }

    print(f"training RAM on {args.env} ({core.dataset_name}, {core.num_images} images) on {device}")
    for epoch in range(start_epoch + 1, args.epochs + 1):
        started = time.perf_counter()
        sums = torch.zeros(6, device=device)  # loss, ce, reinforce, baseline, correct, reward
        order = torch.randperm(core.num_images, generator=generator, device=device)
        batches = order.split(args.batch_size)
        bar = tqdm(batches, desc=f"epoch {epoch}/{args.epochs}", disable=not args.progress)
        for step, index in enumerate(bar):
            # Play one batch of episodes on the env's core, then one step of the hybrid loss.
            state = core.reset(generator, index=index)
            episodes = rollout(model, core, state, generator)
            losses = hybrid_loss(episodes, args.reinforce_weight)
            optimizer.zero_grad(set_to_none=True)
            losses.total.backward()
            if args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()

            with torch.no_grad():
                correct = (episodes.logits[-1].argmax(-1) == episodes.label).sum()
                parts = (losses.total, losses.cross_entropy, losses.reinforce, losses.baseline)
                sums += torch.stack(
                    [*(p.detach() * len(index) for p in parts), correct, episodes.rewards.sum()]
                )
            if args.progress and step % 20 == 0:
                bar.set_postfix(
                    loss=f"{losses.total.item():.3f}", acc=f"{correct.item() / len(index):.3f}"
                )
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
            reinforce=mean[2],
            baseline_loss=mean[3],
            train_accuracy=mean[4],
            train_reward=mean[5],
            epoch_time_s=epoch_time,
            train_time_s=train_time,
        )
        score = mean[4]
        if val_core is not None:
            score = row["val_accuracy"] = evaluate(model, val_core, seed=args.seed).accuracy
        if args.eval_every and epoch % args.eval_every == 0:
            row["test_accuracy"] = evaluate(model, test_core, seed=args.seed).accuracy
        log.write(row)
        print(
            f"epoch {epoch}: loss {mean[0]:.4f} train acc {mean[4]:.4f} reward {mean[5]:.4f}"
            + (f" val acc {row['val_accuracy']:.4f}" if val_core is not None else "")
            + (f" test acc {row['test_accuracy']:.4f}" if row["test_accuracy"] != "" else "")
            + f" ({epoch_time:.1f}s)"
        )
        if score > best:
            best = score
            save_checkpoint(best_path, checkpoint(epoch))
        save_checkpoint(last_path, checkpoint(epoch))
    log.close()

    # --- the final test of the last weights: every test image once, fixed canvases
    results: list[EvalResult] = [evaluate(model, test_core, seed=args.seed)]
    if args.mc_samples > 0:
        results.append(evaluate(model, test_core, args.mc_samples, seed=args.seed))
    for result in results:
        print(f"test ({args.test_split}) {result.summary()}")
    summary = {
        "env": args.env,
        "env_kwargs": kwargs,
        "test_split": args.test_split,
        "epochs": args.epochs,
        "train_time_s": train_time,
        "device": str(device),
        "results": [r.to_dict() for r in results],
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env train ram``."""
    args = parse_args(Args, argv, prog="glimpse-env train ram")
    try:
        train(args)
    except (CheckpointError, ValueError) as err:
        print(f"glimpse-env train ram: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
