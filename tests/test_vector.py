"""The batched vector env: gymnasium 1.x vector semantics and equality with the single env."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch

from glimpse_env import GlimpseVectorEnv, prediction_loss


def batch_action(n_envs: int, rng: np.random.Generator, n: int = 10) -> dict[str, np.ndarray]:
    return {
        "location": rng.uniform(-1, 1, (n_envs, 2)).astype(np.float32),
        "logits": rng.normal(size=(n_envs, n)).astype(np.float32),
    }


def test_spaces_and_metadata():
    venv = GlimpseVectorEnv(num_envs=4, split="test", max_episode_steps=None)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert venv.single_observation_space["glimpse"].shape == (1, 8, 8)
    assert venv.observation_space["glimpse"].shape == (4, 1, 8, 8)
    assert venv.action_space["logits"].shape == (4, 10)
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)


def test_single_env_and_one_env_batch_play_the_same_episodes():
    """env 0 of a vector env seeded s == the single env seeded s, across autoresets."""
    kwargs = {"split": "test", "reward": "correct_entropy"}
    single = gym.make("GlimpseEnv-cluttered60-v0", **kwargs)
    venv = gym.make_vec("GlimpseEnv-cluttered60-v0", num_envs=1,
                        vectorization_mode="vector_entry_point", **kwargs)  # fmt: skip
    obs_s, _ = single.reset(seed=11)
    obs_v, _ = venv.reset(seed=11)
    rng = np.random.default_rng(0)
    single_done = False
    for _ in range(20):  # two and a half episodes of 8 steps
        np.testing.assert_array_equal(obs_s["glimpse"], obs_v["glimpse"][0])
        action = batch_action(1, rng)
        obs_v, reward_v, term_v, _trunc_v, info_v = venv.step(action)
        if single_done:  # next-step autoreset: the vector env restarts on this step
            obs_s, _ = single.reset()
            assert reward_v[0] == 0 and not term_v[0]
            single_done = False
            continue
        obs_s, reward_s, term_s, _, info_s = single.step({k: v[0] for k, v in action.items()})
        assert reward_s == pytest.approx(float(reward_v[0]), abs=1e-6)
        assert term_s == bool(term_v[0])
        if term_s:
            assert info_v["_label"][0] and info_v["label"][0] == info_s["label"]
            assert info_v["correct"][0] == info_s["correct"]
            single_done = True


def test_next_step_autoreset_restarts_finished_envs_on_the_following_step():
    venv = GlimpseVectorEnv(num_envs=3, split="test", num_glimpses=2)
    venv.reset(seed=0)
    rng = np.random.default_rng(1)
    _, _, terminated, _, _ = venv.step(batch_action(3, rng))
    assert not terminated.any()
    _, _, terminated, _, info = venv.step(batch_action(3, rng))
    assert terminated.all() and info["_correct"].all()
    assert venv.state.t.tolist() == [2, 2, 2]
    _, reward, terminated, _, info = venv.step(batch_action(3, rng))
    assert not terminated.any() and (reward == 0).all() and set(info) == {"label", "_label"}
    assert venv.state.t.tolist() == [1, 1, 1]  # new episodes, first glimpse


def test_same_step_autoreset_reports_final_observations():
    venv = GlimpseVectorEnv(num_envs=2, split="test", num_glimpses=1, autoreset_mode="same_step")
    venv.reset(seed=0)
    _obs, _, terminated, _, info = venv.step(batch_action(2, np.random.default_rng(0)))
    assert terminated.all() and info["_final_obs"].all()
    assert info["final_obs"][0]["glimpse"].shape == (1, 8, 8)
    assert set(info["final_info"]) >= {"label", "_label", "correct", "belief"}
    assert venv.state.t.tolist() == [1, 1] and venv.state.steps.tolist() == [0, 0]


def test_max_episode_steps_truncates():
    venv = gym.make_vec("GlimpseEnv-v0", num_envs=2, vectorization_mode="vector_entry_point",
                        max_episode_steps=3, split="test")  # fmt: skip
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(2):
        _, _, terminated, truncated, _ = venv.step(batch_action(2, rng))
        assert not truncated.any()
    _, _, terminated, truncated, _ = venv.step(batch_action(2, rng))
    assert truncated.all() and not terminated.any()


def test_batched_episodes_use_different_images():
    venv = GlimpseVectorEnv(num_envs=64, split="test")
    venv.reset(seed=0)
    assert len(torch.unique(venv.state.index)) > 50


def test_bad_batched_actions_are_refused_and_the_env_keeps_working():
    venv = GlimpseVectorEnv(num_envs=2, split="test")
    venv.reset(seed=0)
    bad = batch_action(2, np.random.default_rng(0))
    bad["logits"][1, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        venv.step(bad)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        venv.step({"location": np.zeros((3, 2)), "logits": np.zeros((2, 10))})
    venv.step(batch_action(2, np.random.default_rng(0)))
    assert venv.state.t.tolist() == [2, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"num_envs": 0}, "num_envs must be a positive int, got 0"),
     ({"num_envs": True}, "num_envs must be a positive int, got True"),
     ({"num_envs": 2.0}, "num_envs must be a positive int, got 2.0"),
     ({"autoreset_mode": "disabled"}, "autoreset_mode must be 'next_step' or 'same_step'"),
     ({"render_mode": "ascii"},
      "render_mode must be None or one of ['human', 'rgb_array'], got 'ascii'"),
     ({"render_mode": "rgb_array", "render_envs": 0}, "render_envs must be a positive int, got 0"),
     ({"render_mode": "rgb_array", "render_envs": True},
      "render_envs must be a positive int, got True"),
     ({"render_mode": "rgb_array", "render_envs": "2"},
      "render_envs must be a positive int, got '2'"),
     ({"bogus": 1}, "unknown GlimpseEnv argument")],
)  # fmt: skip
def test_bad_vector_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        GlimpseVectorEnv(**{"split": "test", **kwargs})


def test_defaults_and_the_options_that_reach_the_spaces():
    venv = GlimpseVectorEnv(split="test")
    assert venv.num_envs == 1 and venv.render_mode is None
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    explicit = GlimpseVectorEnv(split="test", autoreset_mode="next_step")
    assert explicit.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert set(GlimpseVectorEnv(split="test", early_stop=True).single_action_space) == {
        "location", "logits", "stop"
    }  # fmt: skip
    assert venv.loss_fn is prediction_loss
    one_render = GlimpseVectorEnv(num_envs=1, split="test", render_mode="rgb_array")
    assert one_render.render_mode == "rgb_array" and one_render.renderer is not None
    one_render.reset(seed=0)
    assert one_render.render().ndim == 3


def test_stepping_before_reset_says_so():
    with pytest.raises(RuntimeError) as err:
        GlimpseVectorEnv(num_envs=2, split="test").step(batch_action(2, np.random.default_rng(0)))
    assert str(err.value) == "call reset() before step()"


def play(venv: GlimpseVectorEnv, steps: int, seed: int = 3) -> list[np.ndarray]:
    """Every observation's glimpses and locations over ``steps`` random steps."""
    rng = np.random.default_rng(seed)
    obs, _ = venv.reset(seed=seed)
    seen = [obs["glimpse"], obs["location"]]
    for _ in range(steps):
        obs, *_ = venv.step(batch_action(venv.num_envs, rng))
        seen += [obs["glimpse"], obs["location"]]
    return seen


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_a_seed_replays_every_episode_across_autoresets(mode):
    """Restarts draw from the env's own seeded generator (not torch's global one): two envs
    played one after the other with the same seed see the same images and locations."""
    make = lambda: GlimpseVectorEnv(num_envs=3, split="test", num_glimpses=2, autoreset_mode=mode)  # noqa: E731
    first, second = play(make(), 7), play(make(), 7)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    venv = make()
    venv.reset(seed=5)
    draw = venv.np_random.integers(2**32)
    venv.reset(seed=5)
    assert venv.np_random.integers(2**32) == draw  # reset(seed) seeds np_random too


def test_unseeded_envs_differ_and_a_later_reset_goes_on_from_the_seed():
    locations = [GlimpseVectorEnv(num_envs=8, split="test").reset()[0]["location"] for _ in "ab"]
    assert not np.array_equal(*locations)  # fresh entropy, not a fixed default generator
    # ... and plenty of it: 48 fresh envs, 48 different streams (a seed drawn from, say, 124
    # values would repeat among 48 envs with probability above 99.9%)
    firsts = {
        tuple(GlimpseVectorEnv(num_envs=1, split="test").reset()[0]["location"][0].tolist())
        for _ in range(48)
    }
    assert len(firsts) == 48
    venv = GlimpseVectorEnv(num_envs=8, split="test")
    venv.reset(seed=1)
    after_seed = [venv.reset()[0]["location"] for _ in range(2)]
    generator = torch.Generator().manual_seed(1)  # the stream reset(seed=1) started
    venv.core.reset(generator, batch_size=8)
    for location in after_seed:  # later resets draw on from it, not from a new seed
        expected = venv.core.reset(generator, batch_size=8).location.numpy()
        np.testing.assert_array_equal(location, expected)


def test_same_step_returns_the_new_episodes_and_reports_the_ended_ones():
    """Same-step autoreset: the step that ends episodes returns the restarted episodes' first
    observations; the ended ones' last observations and infos come under ``final_*``, masked.
    Its restarts are the next-step env's (same seed, same draws), one step earlier."""
    kwargs = {"num_envs": 3, "split": "test", "num_glimpses": 2}
    same = GlimpseVectorEnv(autoreset_mode="same_step", **kwargs)
    nxt = GlimpseVectorEnv(autoreset_mode="next_step", **kwargs)
    rng = np.random.default_rng(0)
    actions = [batch_action(3, rng) for _ in range(3)]
    same.reset(seed=4), nxt.reset(seed=4)
    same.step(actions[0]), nxt.step(actions[0])
    obs, reward, terminated, _, info = same.step(actions[1])
    last, next_reward, *_ = nxt.step(actions[1])
    assert terminated.all() and info["_final_obs"].all() and info["_final_info"].all()
    np.testing.assert_array_equal(reward, next_reward)
    for i in range(3):
        np.testing.assert_array_equal(info["final_obs"][i]["glimpse"], last["glimpse"][i])
    restarted, *_ = nxt.step(actions[2])
    np.testing.assert_array_equal(obs["glimpse"], restarted["glimpse"])
    np.testing.assert_array_equal(obs["location"], restarted["location"])
    assert same.state.t.tolist() == [1, 1, 1]


# ------------------------------------------------------------------ gymnasium's conventions


def test_one_seed_per_env_is_refused_not_truncated():
    venv = GlimpseVectorEnv(num_envs=4, split="test")
    with pytest.raises(ValueError) as err:
        venv.reset(seed=[1, 2, 3, 4])
    assert str(err.value) == (
        "GlimpseVectorEnv draws all 4 envs from one generator and cannot honour one seed per env "
        "([1, 2, 3, 4]): pass one int, reset(seed=1), or use vectorization_mode='sync'"
    )
    with pytest.raises(ValueError, match="needs num_envs=4 entries, got 2"):
        venv.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="seed must be an int"):
        venv.reset(seed=1.5)
    venv.reset(seed=[None] * 4)  # as seed=None
    one = GlimpseVectorEnv(num_envs=1, split="test")
    by_list, _ = one.reset(seed=[7])
    by_int, _ = one.reset(seed=7)
    np.testing.assert_array_equal(by_list["glimpse"], by_int["glimpse"])


def sync_and_batched(num_envs: int, **kwargs):
    kwargs = {"split": "test", "num_glimpses": 3, "reward": "information_gain", **kwargs}
    make = lambda mode: gym.make_vec("GlimpseEnv-v0", num_envs, vectorization_mode=mode, **kwargs)  # noqa: E731
    return make("vector_entry_point"), make("sync")


def test_one_env_matches_gymnasiums_sync_vector_env_exactly():
    """Observations, float64 rewards, terminations, infos (values, dtypes, masks)."""
    from gymnasium.utils.env_match import check_environments_match

    batched, sync = sync_and_batched(1)
    check_environments_match(batched, sync, num_steps=20, seed=5)


def test_n_envs_match_the_sync_vector_env_in_everything_but_the_draws():
    """With N > 1 the episodes differ (one generator, not N); timing, keys and dtypes do not."""
    batched, sync = sync_and_batched(3)
    rng = np.random.default_rng(0)
    results = []
    for venv in (batched, sync):
        venv.reset(seed=0)
        steps = []
        for _ in range(9):  # three episodes of 3 steps and their autoreset steps
            steps.append(venv.step(batch_action(3, rng)))
        results.append(steps)
    for mine, theirs in zip(*results, strict=True):
        _, rew_a, term_a, trunc_a, info_a = mine
        _, rew_b, term_b, trunc_b, info_b = theirs
        assert rew_a.dtype == rew_b.dtype == np.float64
        np.testing.assert_array_equal(term_a, term_b)
        np.testing.assert_array_equal(trunc_a, trunc_b)
        assert set(info_a) == set(info_b)
        for key in info_a:
            assert info_a[key].dtype == info_b[key].dtype and info_a[key].shape == info_b[key].shape
            if key.startswith("_"):
                np.testing.assert_array_equal(info_a[key], info_b[key])


def test_end_of_episode_infos_are_masked_and_zero_elsewhere_as_in_sync():
    batched, sync = sync_and_batched(3, early_stop=True)
    action = {**batch_action(3, np.random.default_rng(1)), "stop": np.array([1, 0, 0])}
    infos = []
    for venv in (batched, sync):
        venv.reset(seed=0)
        infos.append(venv.step(action)[-1])
    for info in infos:
        np.testing.assert_array_equal(info["_belief"], [True, False, False])
        np.testing.assert_array_equal(info["_correct"], [True, False, False])
        assert not info["correct"][1:].any()
    np.testing.assert_array_equal(infos[0]["belief"], infos[1]["belief"])  # same logits
