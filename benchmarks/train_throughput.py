"""RAM training throughput (images/s) on CPU, beside a reference measured in the same run.

Both sides train the same model with the same hybrid loss, batch and optimiser; they differ in
how episodes are played:

- glimpse-env: the trainer's own loop (:func:`agents.ram.rollout.rollout`) on the env's batched
  core: a summed-area table once per episode, each glimpse a few gathers, rewards from the
  reward plugin, all on tensors.
- reference: the common public RAM implementations' approach: the same canvases, then every
  glimpse cut by a Python loop over the batch (:func:`glimpse_env.core.sensor.reference_glimpses`:
  crop each image, then average-pool each scale), the reward computed at the end.

Usage::

    GLIMPSE_ENV_DATA=../shared/data python benchmarks/train_throughput.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import torch

from agents.ram.envs import env_kwargs, make_core
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.rollout import Rollout, hybrid_loss, rollout
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


def images_per_second(
    play: Callable[[RecurrentAttentionModel, torch.Tensor], Rollout],
    model: RecurrentAttentionModel,
    num_images: int,
    batch_size: int,
    seconds: float,
) -> float:
    """Train with ``play`` for at least ``seconds`` (after one warm-up batch)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)

    def train_batch() -> int:
        index = torch.randint(0, num_images, (batch_size,), generator=gen)
        loss = hybrid_loss(play(model, index)).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return batch_size

    train_batch()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or done == 0:
        done += train_batch()
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--batch-size", type=int, default=128, help="episodes per step")
    parser.add_argument("--repeats", type=int, default=3, help="measurements; the best is kept")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
        f"best of {args.repeats} x {args.seconds:g} s\n"
    )
    print("| configuration | glimpse-env (images/s) | reference loop (images/s) | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for name, env_id in CONFIGS.items():
        core = make_core(env_kwargs(env_id, split="test[:8000]"))
        gen = torch.Generator().manual_seed(1)
        config = RAMConfig(glimpse_shape=core.glimpse_shape, num_classes=core.num_classes)

        def ours(model, index, core=core, gen=gen):
            return rollout(model, core, core.reset(gen, index=index), gen)

        def reference(model, index, core=core, gen=gen):
            return reference_rollout(model, core, index, gen)

        rates = [0.0, 0.0]
        for _ in range(args.repeats):  # interleaved, best of each: robust to a busy machine
            for side, play in enumerate((ours, reference)):
                torch.manual_seed(0)
                model = RecurrentAttentionModel(config)
                rate = images_per_second(
                    play, model, core.num_images, args.batch_size, args.seconds
                )
                rates[side] = max(rates[side], rate)
        print(f"| {name} | {rates[0]:,.0f} | {rates[1]:,.0f} | {rates[0] / rates[1]:.1f}x |")


if __name__ == "__main__":
    main()
