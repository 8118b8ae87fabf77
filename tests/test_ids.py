"""Every registered ``GlimpseEnv*`` id: Gymnasium's and SB3's env checkers, episodes, make_vec."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.utils.env_match import check_environments_match
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from glimpse_env import PRESETS, GlimpseVectorEnv
from glimpse_env.registration import VARIANTS, variant_id

IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("GlimpseEnv"))
NATIVE = sorted(PRESETS)
FLAT = sorted(VARIANTS)

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*Box action space.*:UserWarning",  # the native logits are unbounded on purpose
    "ignore:.*is different from the unwrapped version.*:UserWarning",  # flat ids are wrappers
)


def preset_of(env_id: str) -> dict:
    return PRESETS[VARIANTS[env_id][0]] if env_id in VARIANTS else PRESETS[env_id]


def glimpse_size(env_id: str) -> int:
    preset = preset_of(env_id)
    channels = 3 if preset["dataset"] in ("cifar10", "svhn") else 1
    return preset["num_scales"] * channels * preset["patch_size"] ** 2


@pytest.fixture
def make(synthetic_root):
    """``gym.make`` on the synthetic data root (every dataset, in its real file format)."""
    return lambda env_id, **kw: gym.make(env_id, data_root=str(synthetic_root), split="test", **kw)


def test_every_preset_has_a_box_and_a_discrete_variant():
    assert set(IDS) == set(NATIVE) | set(FLAT)
    for preset in PRESETS:
        assert {variant_id(preset, "Box"), variant_id(preset, "Discrete")} <= set(FLAT)
    assert "GlimpseEnv-cluttered60-Box-v0" in FLAT and "GlimpseEnv-Discrete-v0" in FLAT


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env(env_id, make):
    env = make(env_id)
    check_env(env.unwrapped if env_id in PRESETS else env, skip_render_check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_check_env(env_id, make):
    if env_id in PRESETS:  # SB3 warns that it cannot act in a Dict: what the variants are for
        sb3_check_env(make(env_id), warn=False)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(make(env_id), warn=True)
    assert [str(w.message) for w in caught] == []  # nothing SB3 does not support


@pytest.mark.parametrize("env_id", IDS)
def test_spaces_and_a_whole_episode(env_id, make):
    env = make(env_id)
    preset = preset_of(env_id)
    obs, info = env.reset(seed=0)
    if env_id in PRESETS:
        assert obs["glimpse"].size == glimpse_size(env_id)
    else:
        assert env.observation_space.shape == (glimpse_size(env_id) + 2,)
        assert obs.dtype == np.float32
        kind = VARIANTS[env_id][1]
        assert isinstance(env.action_space, getattr(gym.spaces, kind))
    steps, terminated = 0, False
    while not terminated:
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
    assert steps == preset["num_glimpses"] and not truncated and "correct" in info


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_builds_the_batched_env(env_id, synthetic_root):
    venv = gym.make_vec(env_id, num_envs=3, data_root=str(synthetic_root), split="test")
    assert isinstance(venv.unwrapped, GlimpseVectorEnv)
    assert venv.single_observation_space == make_single(env_id, synthetic_root).observation_space
    venv.action_space.seed(0)
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)
    _, reward, *_ = venv.step(venv.action_space.sample())
    assert reward.shape == (3,) and reward.dtype == np.float64


def make_single(env_id, root):
    return gym.make(env_id, data_root=str(root), split="test")


@pytest.mark.parametrize("env_id", ["GlimpseEnv-cluttered60-Box-v0", "GlimpseEnv-Discrete-v0"])
def test_flat_ids_batched_match_sync_with_one_env(env_id, synthetic_root):
    kwargs = {"data_root": str(synthetic_root), "split": "test", "reward": "information_gain"}
    batched = gym.make_vec(env_id, 1, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(env_id, 1, vectorization_mode="sync", **kwargs)
    check_environments_match(batched, sync, num_steps=20, seed=3)


def test_a_cleanrl_style_client_reaches_the_env_by_id_alone(shared_data):
    """What CleanRL's scripts do with ``--env-id glimpse_env:ID`` (module:id imports us)."""
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.wrappers.RecordEpisodeStatistics(gym.make("glimpse_env:GlimpseEnv-Box-v0",
                                                               split="test[8000:]"))] * 2
    )  # fmt: skip
    assert isinstance(envs.single_action_space, gym.spaces.Box)
    assert len(envs.single_observation_space.shape) == 1
    envs.action_space.seed(0)
    obs, _ = envs.reset(seed=1)
    for _ in range(6):
        obs, _, _, _, infos = envs.step(envs.action_space.sample())
    assert infos["_episode"].all() and obs.shape == (2, 66)
