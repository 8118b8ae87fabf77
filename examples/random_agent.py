"""Play GlimpseEnv-v0 with random actions and report the accuracy (about chance, 10%).

GLIMPSE_ENV_DATA=../shared/data python examples/random_agent.py
"""

import gymnasium as gym

import glimpse_env  # noqa: F401  (registers the ids)

env = gym.make("GlimpseEnv-v0", split="test")
env.action_space.seed(0)
correct = 0
episodes = 200
for episode in range(episodes):
    obs, info = env.reset(seed=episode)
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    correct += info["correct"]
print(f"random agent: {correct / episodes:.1%} correct over {episodes} episodes")
