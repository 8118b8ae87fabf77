"""RAMAgent: from_checkpoint + predict in plain gymnasium loops (single and vector envs)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from agents.ram import RAMAgent
from agents.ram.rollout import rollout
from agents.ram.train import Args, train

ENV_KWARGS = {"split": "test[:256]", "num_glimpses": 4}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("ram")
    args = Args(
        env="GlimpseEnv-v0",
        env_kwargs='{"num_glimpses": 4}',
        split=ENV_KWARGS["split"],
        test_split="test[9900:]",
        epochs=1,
        hidden_size=32,
        threads=1,
        out=str(out),
        progress=False,
        tensorboard=False,
    )
    train(args)
    return out / "best.pt"


def test_predict_in_a_gymnasium_loop(checkpoint):
    agent = RAMAgent.from_checkpoint(checkpoint, device="cpu")
    env = gym.make("GlimpseEnv-v0", **ENV_KWARGS)
    obs, info = env.reset(seed=3)
    state, done, steps = None, False, 0
    while not done:
        action, state = agent.predict(obs, state=state, deterministic=True)
        assert env.action_space.contains(action)
        obs, _, done, _, info = env.step(action)
        steps += 1
    assert steps == 4 and set(info) >= {"label", "correct", "belief"}
    # Deterministic: the same episode gives the same actions.
    obs, _ = env.reset(seed=3)
    again, _ = agent.predict(obs)
    obs, _ = env.reset(seed=3)
    first, _ = agent.predict(obs, deterministic=False)
    assert first["location"].shape == (2,) and first["logits"].shape == (10,)
    np.testing.assert_array_equal(again["logits"], agent.predict(obs)[0]["logits"])


def test_predict_matches_the_trainers_rollout(checkpoint):
    """The gymnasium loop and the trainer's rollout on the core play the same episode."""
    agent = RAMAgent.from_checkpoint(checkpoint)
    env = gym.make("GlimpseEnv-v0", **ENV_KWARGS)
    obs, _ = env.reset(seed=5)
    core, start = env.unwrapped.core, env.unwrapped.state
    episode = rollout(agent.model, core, start, deterministic=True)
    state, logits = None, []
    for _ in range(4):
        action, state = agent.predict(obs, state)
        logits.append(action["logits"])
        obs, *_ = env.step(action)
    torch.testing.assert_close(torch.as_tensor(np.stack(logits)), episode.logits[:, 0])


def test_predict_on_a_vector_env_with_episode_starts(checkpoint):
    agent = RAMAgent.from_checkpoint(checkpoint)
    envs = gym.make_vec(
        "GlimpseEnv-v0", num_envs=3, vectorization_mode="vector_entry_point", **ENV_KWARGS
    )
    obs, _ = envs.reset(seed=0)
    state, starts = None, np.ones(3, dtype=bool)
    for _ in range(9):
        action, state = agent.predict(obs, state, episode_start=starts)
        assert action["location"].shape == (3, 2) and action["logits"].shape == (3, 10)
        assert action["location"].dtype == np.float32
        obs, _, terminated, truncated, _ = envs.step(action)
        starts = terminated | truncated
    # A cleared state equals a fresh one.
    single = {key: value[:1] for key, value in obs.items()}
    fresh, _ = agent.predict(single)
    cleared, _ = agent.predict(single, (state[0][:1],), episode_start=np.array([True]))
    np.testing.assert_array_equal(fresh["logits"], cleared["logits"])


def test_predict_refuses_the_wrong_observation(checkpoint):
    agent = RAMAgent.from_checkpoint(checkpoint)
    with pytest.raises(ValueError, match="glimpse"):
        agent.predict({"glimpse": np.zeros((3, 12, 12), np.float32), "location": np.zeros(2)})
    with pytest.raises(ValueError, match="dict"):
        agent.predict(np.zeros((1, 8, 8)))
