"""Narrower action forms (flat Box, discrete grid) and the SB3 VecEnv adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.logger import KVWriter

from glimpse_env.faces.sb3 import GlimpseSB3VecEnv, make_sb3_vec_env
from glimpse_env.faces.wrappers import DiscreteAction, FlatAction, grid_for

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize("wrapper", [FlatAction, DiscreteAction])
@pytest.mark.parametrize("env_id", ["GlimpseEnv-v0", "GlimpseEnv-cluttered60-v0"])
def test_sb3_check_env_passes_through_the_wrappers(wrapper, env_id):
    sb3_check_env(wrapper(gym.make(env_id, split="test")), warn=False)


def test_flat_action_decodes_location_and_scaled_logits():
    env = FlatAction(gym.make("GlimpseEnv-v0", split="test", num_glimpses=1), logit_scale=4.0)
    env.reset(seed=0)
    label = env.unwrapped.state.label.item()
    flat = np.zeros(12, np.float32)
    flat[:2] = [0.5, 2.0]  # out-of-range y is clipped (and ignored at the last step)
    flat[2 + label] = 1.0
    _, reward, terminated, _, info = env.step(flat)
    assert terminated and reward == 1.0 and info["correct"]
    expected = np.exp(4.0) / (np.exp(4.0) + 9)
    assert info["belief"][label] == pytest.approx(expected, rel=1e-5)


def test_flat_action_with_early_stop_has_a_stop_score():
    env = FlatAction(gym.make("GlimpseEnv-v0", split="test", early_stop=True))
    assert env.action_space.shape == (13,)
    env.reset(seed=0)
    stop = np.zeros(13, np.float32)
    stop[-1] = 0.5
    assert env.step(stop)[2] is True


def test_discrete_grid_is_the_patch_grid():
    env = DiscreteAction(gym.make("GlimpseEnv-v0", split="test"))
    assert env.action_space.n == 6 * 6 * 10  # 8x8 patches at stride 4 on 28x28
    env.reset(seed=0)
    cell, cls = 7, 3  # row 1, column 1 -> pixel centre (8, 8)
    obs, *_ = env.step(cell * 10 + cls)
    np.testing.assert_allclose(obs["location"], [8 / 14 - 1, 8 / 14 - 1], atol=1e-6)
    hundred = grid_for(gym.make("GlimpseEnv-cluttered100-v0", split="test"))
    assert len(hundred) == 15 * 15  # 12x12 patches at stride 6 on 100x100


def test_sb3_vec_env_steps_the_batch_and_reports_terminal_observations():
    venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=4, action="flat", split="test")
    assert isinstance(venv, GlimpseSB3VecEnv) and venv.num_envs == 4
    venv.seed(3)
    obs = venv.reset()
    assert obs["glimpse"].shape == (4, 1, 8, 8)
    rng = np.random.default_rng(0)
    for t in range(6):
        venv.step_async(rng.uniform(-1, 1, (4, 12)).astype(np.float32))
        obs, rewards, dones, infos = venv.step_wait()
        assert rewards.shape == (4,) and dones.dtype == bool
        assert dones.all() == (t == 5)
    assert all("terminal_observation" in info and "correct" in info for info in infos)
    assert infos[0]["terminal_observation"]["glimpse"].shape == (1, 8, 8)
    # Same-step reset: the returned observations already start new episodes.
    assert venv.env.state.t.tolist() == [1, 1, 1, 1]


def test_sb3_vec_env_equals_the_wrapped_single_env():
    """Same seed and the same discrete actions: identical rewards on both faces."""
    single = DiscreteAction(gym.make("GlimpseEnv-v0", split="test"))
    venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=1, action="discrete", split="test")
    venv.seed(5)
    obs_v = venv.reset()
    obs_s, _ = single.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(6):
        np.testing.assert_array_equal(obs_s["glimpse"], obs_v["glimpse"][0])
        action = int(rng.integers(single.action_space.n))
        obs_s, reward_s, *_ = single.step(action)
        venv.step_async(np.array([action]))
        obs_v, reward_v, _, _ = venv.step_wait()
        assert reward_s == reward_v[0]


def test_sb3_vec_env_bad_actions():
    venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=2, action="discrete", split="test")
    venv.reset()
    venv.step_async(np.array([0, 10_000]))
    with pytest.raises(ValueError, match=r"ints in \[0, 360\)"):
        venv.step_wait()
    with pytest.raises(ValueError, match="'flat' or 'discrete'"):
        make_sb3_vec_env("GlimpseEnv-v0", action="box", split="test")
    with pytest.raises(ValueError, match="unknown env id"):
        make_sb3_vec_env("GlimpseEnv-v9")


@pytest.mark.parametrize(
    ("algo", "action"), [("PPO", "flat"), ("A2C", "flat"), ("DQN", "discrete")]
)
def test_sb3_algorithms_learn_a_few_steps_on_the_adapter(algo, action):
    import stable_baselines3

    venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=8, action=action, split="test")
    kwargs = {"n_steps": 16, "batch_size": 64} if algo == "PPO" else {}
    if algo == "DQN":
        kwargs = {"learning_starts": 32, "buffer_size": 1_000}
    model = getattr(stable_baselines3, algo)("MultiInputPolicy", venv, seed=0, **kwargs)
    model.learn(256)
    assert model.num_timesteps >= 256
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert venv.action_space.contains(actions[0])
    assert torch.is_tensor(venv.env.state.glimpse)


# ------------------------------------------------------------------ SB3's Monitor statistics


def test_sb3_vec_env_reports_monitor_episode_statistics():
    venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=3, action="flat", split="test",
                            num_glimpses=3, reward="information_gain")  # fmt: skip
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    returns = np.zeros(3)
    for t in range(6):  # two episodes
        venv.step_async(rng.uniform(-1, 1, (3, 12)).astype(np.float32))
        _, rewards, dones, infos = venv.step_wait()
        returns += rewards
        if (t + 1) % 3:
            assert not dones.any() and all("episode" not in info for info in infos)
            continue
        assert dones.all()
        for info, ret in zip(infos, returns, strict=True):
            assert set(info["episode"]) == {"r", "l", "t"} and info["episode"]["l"] == 3
            assert info["episode"]["r"] == pytest.approx(ret, abs=1e-5)
            assert info["episode"]["t"] >= 0
        returns[:] = 0


class Capture(KVWriter):
    """An SB3 logger output that keeps every key it is given."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def write(self, key_values, key_excluded, step=0) -> None:
        self.keys |= set(key_values)

    def close(self) -> None:
        pass


def test_sb3_logs_ep_rew_mean_and_evaluate_policy_does_not_warn():
    import warnings

    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.logger import Logger

    venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=4, action="flat", split="test")
    model = PPO("MultiInputPolicy", venv, n_steps=12, batch_size=48, n_epochs=1, seed=0)
    capture = Capture()
    model.set_logger(Logger(folder=None, output_formats=[capture]))
    model.learn(48)
    assert "rollout/ep_rew_mean" in capture.keys and "rollout/ep_len_mean" in capture.keys
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rewards, lengths = evaluate_policy(model, venv, n_eval_episodes=4,
                                           return_episode_rewards=True)  # fmt: skip
    assert not [w for w in caught if "Monitor" in str(w.message)]
    assert lengths == [6, 6, 6, 6] and set(rewards) <= {0.0, 1.0}
