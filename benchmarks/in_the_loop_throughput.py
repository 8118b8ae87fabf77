"""Throughput of the in-the-loop vector wrapper beside the raw batched env, in the same run.

For each env, at 1,024 envs: env steps/s of the raw ``GlimpseVectorEnv`` (random native actions)
and of :class:`agents.in_the_loop.vector.InTheLoopVectorEnv` over the same env (random location
actions): its classifier's forward for all envs every step, the episodes recorded, and its
online update every ``update_interval(1024)`` = 8 steps (amortised: a block spans whole update
periods). Rows: the default classifier (``sum`` memory, 128 wide, learning), the same without
learning (forward only), a 64-wide one, and the ``gru`` memory. Raw and wrapped steps are timed
in alternating blocks, so load on a shared machine hits both alike; each figure is the median
over the blocks. The goal: the wrapper's step at most 2x the raw env's.

Usage::

    GLIMPSE_ENV_DATA=../shared/data python benchmarks/in_the_loop_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from agents.in_the_loop.classifier import ClassifierSettings
from agents.in_the_loop.vector import InTheLoopVectorEnv

SPLIT = "test"  # the 10,000 MNIST test images: all these machines have
BLOCK = 24  # steps per timed block: whole episodes (T = 6, 8) and update periods (8)


def make_vector(env_id: str, num_envs: int) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                        split=SPLIT)  # fmt: skip


def block_runner(env: gym.vector.VectorEnv, seed: int) -> Callable[[], float]:
    """A function that steps ``env`` for one block of random actions and returns its seconds."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(BLOCK)]

    def run() -> float:
        start = time.perf_counter()
        for action in actions:
            env.step(action)
        return time.perf_counter() - start

    return run


def step_times(runners: dict[str, Callable[[], float]], seconds: float) -> dict[str, float]:
    """Median seconds per step of each runner, timed in alternating blocks for ``seconds``."""
    for run in runners.values():
        run()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runners}
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times[next(iter(times))]) < 3:
        for name, run in runners.items():
            times[name].append(run() / BLOCK)
    return {name: statistics.median(values) for name, values in times.items()}


def table(num_envs: int, seconds: float) -> list[str]:
    rows = [
        "| env | face | envs | env steps/s | ms per step | vs raw step time |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for env_id in ("GlimpseEnv-v0", "GlimpseEnv-cluttered60-v0"):
        faces = {
            "raw GlimpseVectorEnv": make_vector(env_id, num_envs),
            "InTheLoopVectorEnv (sum, learning)": InTheLoopVectorEnv(make_vector(env_id, num_envs)),
            "InTheLoopVectorEnv (sum, forward only)": InTheLoopVectorEnv(
                make_vector(env_id, num_envs), learn=False
            ),
            "InTheLoopVectorEnv (sum 64 wide, learning)": InTheLoopVectorEnv(
                make_vector(env_id, num_envs), settings=ClassifierSettings(hidden=64)
            ),
            "InTheLoopVectorEnv (gru, learning)": InTheLoopVectorEnv(
                make_vector(env_id, num_envs), settings=ClassifierSettings(memory="gru")
            ),
        }
        runners = {name: block_runner(env, seed=i) for i, (name, env) in enumerate(faces.items())}
        times = step_times(runners, seconds)
        raw = times["raw GlimpseVectorEnv"]
        for name, per_step in times.items():
            rows.append(
                f"| {env_id} | {name} | {num_envs} | {num_envs / per_step:,.0f} | "
                f"{per_step * 1e3:.2f} | {per_step / raw:.2f}x |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per env, not 20 s")
    parser.add_argument("--num-envs", type=int, default=1024, help="envs per batch")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch intra-op threads (default: torch's choice)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, numpy {np.__version__}\n"
    )
    print("\n".join(table(args.num_envs, 1.0 if args.quick else 20.0)))


if __name__ == "__main__":
    main()
