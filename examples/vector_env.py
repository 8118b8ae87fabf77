"""Step 1,024 cluttered-MNIST episodes at once with the batched vector env.

GLIMPSE_ENV_DATA=../shared/data python examples/vector_env.py
"""

import time

import gymnasium as gym

import glimpse_env  # noqa: F401  (registers the ids)

envs = gym.make_vec(
    "GlimpseEnv-cluttered60-v0", num_envs=1024, vectorization_mode="vector_entry_point",
    split="test",
)  # fmt: skip
obs, info = envs.reset(seed=0)
envs.action_space.seed(0)
start, steps = time.perf_counter(), 0
for _ in range(80):  # ten episodes per env (8 glimpses + the autoreset step)
    obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
    steps += envs.num_envs
elapsed = time.perf_counter() - start
print(f"{steps:,} env steps in {elapsed:.2f} s: {steps / elapsed:,.0f} steps/s")
print("glimpse batch:", obs["glimpse"].shape)
