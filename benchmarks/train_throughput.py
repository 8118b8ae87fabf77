"""RAM training throughput (images/s) on CPU or GPU, beside a reference measured in the same run.

Every row trains the same model with the same hybrid loss and Adam; they differ in how episodes
are played and how many are played at once:

- reference loop: the common public RAM implementations' approach: the same canvases, then
  every glimpse cut by a Python loop over the batch
  (:func:`glimpse_env.core.sensor.reference_glimpses`: crop each image, then average-pool each
  scale), the reward computed at the end; batch 128.
- old trainer: what ``glimpse-env train ram`` ran before the stacked rollout:
  :func:`agents.ram.rollout.rollout` on the env's batched core (``core.reset`` + ``core.step``:
  a summed-area table once per episode, each glimpse a few gathers), one model; batch 128.
- stacked trainer: :func:`agents.ram.stacked_rollout.stacked_rollout` with a
  :class:`~agents.ram.stacked.StackedRAM`: no host synchronisation inside an episode, fused
  matmuls, the class logits, baselines and rewards of all steps at once; at batch 128, at a
  large batch, and with several runs (seeds) trained together (images/s counts every run's).

Usage::

    GLIMPSE_ENV_DATA=../shared/data python benchmarks/train_throughput.py [--seconds 5]

On a machine shared with other work, ``--threads 1 --clock process`` counts the CPU time this
process got instead of the wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from functools import partial

import torch

from agents.ram.envs import env_kwargs, make_core
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import Rollout, hybrid_loss, rollout
from agents.ram.stacked import StackedRAM
from agents.ram.stacked_rollout import stacked_rollout
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.sensor import reference_glimpses

CONFIGS = {
    "28x28, 6 glimpses of 1x8x8": "GlimpseEnv-v0",
    "60x60 cluttered, 8 glimpses of 3x12x12": "GlimpseEnv-cluttered60-v0",
}


def reference_rollout(
    model: RecurrentAttentionModel, core: GlimpseCore, index: torch.Tensor, gen: torch.Generator
) -> Rollout:
    """One batch of episodes the reference way: per-sample crops in a Python loop."""
    c = core.config
    canvas = core.canvases(index, gen)  # (B, C, H, W) uint8, the same canvases as the env's
    label = core.labels[index]
    location = torch.rand(len(index), 2, generator=gen) * 2 - 1
    hidden = model.initial_state(len(index))
    logits, log_probs, baselines, locations = [], [], [], []
    for t in range(c.num_glimpses):
        locations.append(location)
        glimpse = reference_glimpses(canvas, location, c.patch_size, c.num_scales, c.scale_factor)
        out = model.step(glimpse, location, hidden)
        hidden = out.hidden
        logits.append(out.logits)
        if t < c.num_glimpses - 1:
            location, log_prob = model.sample_location(out.location_mean, gen)
            log_probs.append(log_prob)
            baselines.append(out.baseline)
    rewards = torch.zeros(c.num_glimpses, len(index))
    rewards[-1] = (logits[-1].argmax(-1) == label).float()
    return Rollout(
        torch.stack(logits),
        torch.stack(log_probs),
        torch.stack(baselines),
        rewards,
        torch.stack(locations),
        label,
    )


Trainer = Callable[[], int]
"""One gradient step of a trainer: plays its batch(es), steps Adam, returns the images played."""


def reference_trainer(core: GlimpseCore, config: RAMConfig, batch: int) -> Trainer:
    """The reference loop at ``batch`` images per step."""
    return single_trainer(core, config, batch, lambda m, i, g: reference_rollout(m, core, i, g))


def old_trainer(core: GlimpseCore, config: RAMConfig, batch: int) -> Trainer:
    """The trainer before the stacked one: :func:`rollout` via ``core.reset`` + ``core.step``."""
    return single_trainer(
        core, config, batch, lambda m, i, g: rollout(m, core, core.reset(g, index=i), g)
    )


def single_trainer(
    core: GlimpseCore,
    config: RAMConfig,
    batch: int,
    play: Callable[[RecurrentAttentionModel, torch.Tensor, torch.Generator], Rollout],
) -> Trainer:
    torch.manual_seed(0)
    model = RecurrentAttentionModel(config).to(core.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator(device=core.device).manual_seed(0)

    def train_step() -> int:
        index = torch.randint(0, core.num_images, (batch,), generator=gen, device=core.device)
        loss = hybrid_loss(play(model, index, gen)).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return batch

    return train_step


def stacked_trainer(core: GlimpseCore, config: RAMConfig, batch: int, runs: int) -> Trainer:
    """The stacked trainer: ``runs`` models (seeds) at ``batch`` images each per step, one
    backward for all, each model its own Adam (as ``glimpse-env train ram --seeds``)."""
    models = []
    for seed in range(runs):
        torch.manual_seed(seed)
        models.append(RecurrentAttentionModel(config).to(core.device))
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]
    gens = [torch.Generator(device=core.device).manual_seed(seed) for seed in range(runs)]
    cores = [core] * runs

    def train_step() -> int:
        index = torch.randint(
            0, core.num_images, (runs, batch), generator=gens[0], device=core.device
        )
        episodes = stacked_rollout(StackedRAM(models), cores, index, gens)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        hybrid_loss(episodes).total.sum().backward()
        for optimizer in optimizers:
            optimizer.step()
        return batch * runs

    return train_step


def images_per_second(
    train_step: Trainer, seconds: float, clock: Callable[[], float], device: torch.device
) -> float:
    """Run ``train_step`` for at least ``seconds`` of ``clock`` (after one warm-up step)."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    train_step()
    sync()
    done, start = 0, clock()
    while clock() - start < seconds or done == 0:
        done += train_step()
        if device.type == "cuda" and done % 64 == 0:
            sync()
    sync()
    return done / (clock() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--batch-size", type=int, default=128, help="the reference batch")
    parser.add_argument("--large-batch", type=int, default=1024, help="the stacked large batch")
    parser.add_argument("--runs", type=int, default=4, help="runs trained together")
    parser.add_argument(
        "--runs-batch", type=int, default=256, help="another batch of the runs trained together"
    )
    parser.add_argument("--repeats", type=int, default=3, help="measurements; the best is kept")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="torch device (the reference runs on CPU)")
    parser.add_argument(
        "--clock",
        choices=("wall", "process"),
        default="wall",
        help="wall time, or this process's CPU time (for a shared machine, with --threads 1)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    hardware = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if device.type == "cuda":
        hardware += f", {torch.cuda.get_device_name(device)}"
    print(
        f"{hardware}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{args.clock} clock, best of {args.repeats} x {args.seconds:g} s\n"
    )
    print("| configuration | trainer | runs x batch | images/s | vs reference | vs old trainer |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    small, large, runs, mid = args.batch_size, args.large_batch, args.runs, args.runs_batch
    for name, env_id in CONFIGS.items():
        cpu_core = make_core(env_kwargs(env_id, split="test[:8000]"))
        core = (
            cpu_core
            if device.type == "cpu"
            else make_core(env_kwargs(env_id, split="test[:8000]", device=str(device)))
        )
        config = RAMConfig(glimpse_shape=core.glimpse_shape, num_classes=core.num_classes)
        rows = [  # (trainer, runs, batch, how to make it)
            ("reference loop", 1, small, partial(reference_trainer, cpu_core, config, small)),
            ("old trainer", 1, small, partial(old_trainer, core, config, small)),
            ("stacked", 1, small, partial(stacked_trainer, core, config, small, 1)),
            ("stacked", 1, large, partial(stacked_trainer, core, config, large, 1)),
            ("stacked", runs, small, partial(stacked_trainer, core, config, small, runs)),
            ("stacked", runs, mid, partial(stacked_trainer, core, config, mid, runs)),
            ("stacked", runs, large, partial(stacked_trainer, core, config, large, runs)),
        ]
        rates = [0.0] * len(rows)
        for _ in range(args.repeats):  # interleaved, best of each: robust to a busy machine
            for i, (trainer, _, _, make) in enumerate(rows):
                on = torch.device("cpu") if trainer == "reference loop" else device
                rates[i] = max(rates[i], images_per_second(make(), args.seconds, clock, on))
        reference, old = rates[0], rates[1]
        for (trainer, num_runs, batch, _), rate in zip(rows, rates, strict=True):
            print(
                f"| {name} | {trainer} | {num_runs} x {batch} | {rate:,.0f} | "
                f"{rate / reference:.1f}x | {rate / old:.2f}x |"
            )


if __name__ == "__main__":
    main()
