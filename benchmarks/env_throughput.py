"""Throughput of the glimpse sensor and of the environments, each beside a reference.

Prints two markdown tables from one run:

1. Sensor glimpses/s at B = 1, 64, 1024 for 28x28 1x8x8 and 60x60 3x12x12, against the
   per-sample loop reference (crop each image in a Python loop, then average-pool: the common
   RAM implementations' approach; ``glimpse_env.core.sensor.reference_glimpses``). The batched
   sensor's per-episode work (the summed-area table) is counted, amortised over the episode's
   T glimpses (T = 6 and 8).
2. Env steps/s for ``gym.make`` (one env), gymnasium's ``SyncVectorEnv`` of 64 single envs, and
   the batched ``GlimpseVectorEnv`` at 64 and 1024 envs (random actions, made beforehand).

Usage::

    GLIMPSE_ENV_DATA=../shared/data python benchmarks/env_throughput.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from glimpse_env.core.sensor import glimpse_from_integral, integral_image, reference_glimpses

SPLIT = "test"  # the 10,000 MNIST test images: all these machines have


def rate(work: Callable[[], int], min_seconds: float) -> float:
    """Items per second of ``work`` (which returns how many items it did), after one warm-up."""
    work()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or done == 0:
        done += work()
    return done / elapsed


def sensor_rates(
    images: torch.Tensor, locations: torch.Tensor, patch: int, scales: int, min_seconds: float
) -> tuple[float, float]:
    """Glimpses/s of the batched sensor and of the loop reference.

    Args:
        images: ``(B, 1, H, W)`` uint8.
        locations: ``(T, B, 2)``: one episode's glimpse locations.
    """
    glimpses, batch = locations.shape[:2]

    def batched() -> int:
        table = integral_image(images)  # once per episode
        for loc in locations:
            glimpse_from_integral(table, loc, patch, scales)
        return batch * glimpses

    def loop() -> int:
        reference_glimpses(images, locations[0], patch, scales)
        return batch

    return rate(batched, min_seconds), rate(loop, min_seconds)


def sensor_table(min_seconds: float) -> list[str]:
    rows = [
        "| config | B | batched glimpses/s | loop reference glimpses/s | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    configs = [("28x28, 1x8x8, T=6", 28, 8, 1, 6), ("60x60, 3x12x12, T=8", 60, 12, 3, 8)]
    gen = torch.Generator().manual_seed(0)
    for name, size, patch, scales, glimpses in configs:
        for batch in (1, 64, 1024):
            images = torch.randint(0, 256, (batch, 1, size, size), dtype=torch.uint8, generator=gen)
            locations = torch.rand(glimpses, batch, 2, generator=gen) * 2 - 1
            fast, slow = sensor_rates(images, locations, patch, scales, min_seconds)
            rows.append(f"| {name} | {batch} | {fast:,.0f} | {slow:,.0f} | {fast / slow:.1f}x |")
    return rows


def env_steps(env, actions: list, min_seconds: float, vector: bool) -> float:
    """Env steps/s (one step of an N-env vector env counts N)."""
    env.reset(seed=0)
    count = env.num_envs if vector else 1
    state = {"i": 0}

    def work() -> int:
        action = actions[state["i"] % len(actions)]
        state["i"] += 1
        _, _, terminated, truncated, _ = env.step(action)
        if not vector and (terminated or truncated):
            env.reset()
        return count

    return rate(work, min_seconds)


def random_actions(space: gym.Space, n: int, seed: int) -> list:
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def env_table(min_seconds: float) -> list[str]:
    rows = [
        "| env | face | envs | env steps/s | vs SyncVectorEnv |",
        "|---|---|---:|---:|---:|",
    ]
    for env_id in ("GlimpseEnv-v0", "GlimpseEnv-cluttered60-v0"):
        results = []
        single = gym.make(env_id, split=SPLIT)
        results.append(("gym.make", 1, env_steps(single, random_actions(single.action_space, 64, 0),
                                                  min_seconds, vector=False)))  # fmt: skip
        sync = gym.vector.SyncVectorEnv([lambda env_id=env_id: gym.make(env_id, split=SPLIT)] * 64)
        sync_rate = env_steps(sync, random_actions(sync.action_space, 16, 1), min_seconds, True)
        results.append(("SyncVectorEnv", 64, sync_rate))
        for n in (64, 1024):
            venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                                split=SPLIT)  # fmt: skip
            actions = random_actions(venv.action_space, 16, 2)
            results.append(("GlimpseVectorEnv", n, env_steps(venv, actions, min_seconds, True)))
        for face, n, steps in results:
            rows.append(f"| {env_id} | {face} | {n} | {steps:,.0f} | {steps / sync_rate:.1f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="0.2 s per measurement, not 2 s")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch intra-op threads (default: torch's choice). On a machine shared with other "
        "work, 1 avoids the large slow-downs of oversubscribed threads.",
    )  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seconds = 0.2 if args.quick else 2.0
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, numpy {np.__version__}\n"
    )
    print("\n".join(sensor_table(seconds)))
    print()
    print("\n".join(env_table(seconds)))


if __name__ == "__main__":
    main()
