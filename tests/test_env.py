"""The environment contract (DESIGN.md) on the single env (every id: tests/test_ids.py)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env
from glimpse_env import GlimpseEnv
from glimpse_env.data import ImageDataset, load_dataset

pytestmark = pytest.mark.filterwarnings("ignore:.*Box action space.*:UserWarning")


def act(location=(0.0, 0.0), logits=None, n=10, **extra):
    logits = np.zeros(n, np.float32) if logits is None else np.asarray(logits, np.float32)
    return {"location": np.asarray(location, np.float32), "logits": logits, **extra}


@pytest.fixture
def mnist_env():
    return gym.make("GlimpseEnv-v0", split="test[:8000]")


def test_t_glimpses_in_t_steps_and_the_last_belief_is_the_guess(mnist_env):
    obs, info = mnist_env.reset(seed=3)
    label = mnist_env.unwrapped.state.label.item()
    assert info == {"label": label}
    glimpses = [obs["glimpse"]]
    for t in range(1, 7):
        wrong = (label + 1) % 10
        logits = np.eye(10, dtype=np.float32)[label if t == 6 else wrong] * 5
        obs, reward, terminated, truncated, info = mnist_env.step(
            act(location=(0.5 * (t % 2), -0.5), logits=logits)
        )
        glimpses.append(obs["glimpse"])
        assert terminated == (t == 6) and not truncated
        assert set(info) == ({"label", "correct", "belief"} if terminated else {"label"})
        assert reward == (1.0 if t == 6 else 0.0)
    assert info["label"] == label and info["correct"] is True
    np.testing.assert_allclose(info["belief"], torch.softmax(torch.tensor(logits), 0), rtol=1e-5)
    # The final observation repeats the last glimpse (T glimpses were seen, not T + 1).
    np.testing.assert_array_equal(glimpses[-1], glimpses[-2])
    assert mnist_env.unwrapped.state.t.item() == 6


def test_observation_is_the_sensor_at_the_action_location(mnist_env):
    mnist_env.reset(seed=0)
    state = mnist_env.unwrapped.state
    obs, *_ = mnist_env.step(act(location=(0.25, -0.75)))
    expected = glimpse_env.extract_glimpses(state.canvas, torch.tensor([[0.25, -0.75]]), 8)
    np.testing.assert_array_equal(obs["glimpse"], expected[0].numpy())
    np.testing.assert_array_equal(obs["location"], np.array([0.25, -0.75], np.float32))


def test_initial_location_random_or_centre():
    env = gym.make("GlimpseEnv-v0", split="test", initial_location="center")
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs["location"], [0.0, 0.0])
    env = gym.make("GlimpseEnv-v0", split="test")
    locations = np.array([env.reset(seed=s)[0]["location"] for s in range(20)])
    assert np.all(np.abs(locations) <= 1) and locations.std() > 0.3


def test_same_seed_same_episodes_different_seed_different():
    def run(seed):
        env = gym.make("GlimpseEnv-cluttered60-v0", split="test")
        obs, _ = env.reset(seed=seed)
        out = [obs["glimpse"]]
        for _ in range(12):  # crosses an episode boundary
            obs, _, terminated, _, _ = env.step(act(location=(0.1, 0.2)))
            if terminated:
                obs, _ = env.reset()
            out.append(obs["glimpse"])
        return np.stack(out)

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_reset_options_pick_an_image(shared_data):
    env = gym.make("GlimpseEnv-v0", split="test")
    env.reset(seed=0, options={"index": 7})
    data = load_dataset("mnist", "test", root=shared_data)
    assert env.unwrapped.state.label.item() == int(data.labels[7])


def test_early_stop_ends_the_episode_with_that_steps_guess():
    env = gym.make("GlimpseEnv-v0", split="test", early_stop=True)
    assert "stop" in env.action_space.spaces
    env.reset(seed=1)
    _, _, terminated, _, _ = env.step(act(stop=0))
    assert not terminated
    _, _, terminated, _, info = env.step(act(stop=1))
    assert terminated and set(info) == {"label", "correct", "belief"}


def test_fixed_canvases_repeat_per_image():
    env = gym.make("GlimpseEnv-cluttered60-v0", split="test", fixed_canvases=True)
    env.reset(seed=0, options={"index": 3})
    first = env.unwrapped.state.canvas.clone()
    env.reset(seed=99, options={"index": 3})
    assert torch.equal(env.unwrapped.state.canvas, first)
    other = gym.make("GlimpseEnv-cluttered60-v0", split="test", fixed_canvases=True, canvas_seed=1)
    other.reset(seed=0, options={"index": 3})
    assert not torch.equal(other.unwrapped.state.canvas, first)


def test_custom_image_dataset():
    data = ImageDataset(torch.full((3, 1, 16, 16), 255, dtype=torch.uint8), torch.tensor([0, 1, 1]),
                        classes=("no", "yes"))  # fmt: skip
    env = gym.make("GlimpseEnv-v0", dataset=data, patch_size=4, initial_location="center")
    obs, _ = env.reset(seed=0)
    assert env.action_space["logits"].shape == (2,) and np.all(obs["glimpse"] == 1)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (act(location=(np.nan, 0.0)), "finite"),
        (act(location=(np.inf, 0.0)), "finite"),
        (act(logits=np.full(10, np.nan)), "finite"),
        (act(location=(0.0, 0.0, 0.0)), r"shape \(2,\)"),
        (act(n=9), r"shape \(10,\)"),
        ({"location": np.zeros(2)}, "keys"),
        (np.zeros(12), "dict with keys"),
        ({"location": ["a", "b"], "logits": np.zeros(10)}, "numbers"),
    ],
)
def test_bad_actions_are_refused_and_the_env_keeps_working(mnist_env, action, message):
    mnist_env.reset(seed=0)
    t_before = mnist_env.unwrapped.state.t.item()
    with pytest.raises(ValueError, match=message):
        mnist_env.step(action)
    assert mnist_env.unwrapped.state.t.item() == t_before
    _, _, terminated, _, _ = mnist_env.step(act())
    assert mnist_env.unwrapped.state.t.item() == t_before + 1 and not terminated


def test_locations_outside_the_square_are_clipped(mnist_env):
    mnist_env.reset(seed=0)
    obs, *_ = mnist_env.step(act(location=(3.0, -7.0)))
    np.testing.assert_array_equal(obs["location"], [1.0, -1.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_glimpse": 3}, r"unknown GlimpseEnv argument\(s\) \['num_glimpse'\]"),
        ({"reward": "nope"}, "known rewards: correct, correct_entropy, information_gain"),
        ({"num_glimpses": 0}, "num_glimpses must be a positive int"),
        ({"initial_location": "corner"}, "'random' or 'center'"),
        ({"dataset": "imagenet"}, "known datasets"),
        ({"clutter": 2}, "needs a canvas"),
        ({"canvas_size": 20}, "at least the image size"),
        ({"split": "valid"}, "split must be"),
    ],
)
def test_bad_construction_arguments_say_what_is_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("GlimpseEnv-v0", **{"split": "test", **kwargs})


def test_step_before_reset_is_an_error():
    env = GlimpseEnv(split="test")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(act())


def test_a_step_after_the_end_is_an_error_until_reset():
    env = GlimpseEnv(split="test", num_glimpses=2)
    env.reset(seed=0)
    env.step(act())
    assert env.step(act())[2] is True
    state = env.state
    for _ in range(2):
        with pytest.raises(RuntimeError, match=r"episode has ended .* call reset\(\)"):
            env.step(act())
    assert env.state is state  # nothing moved
    env.reset(seed=1)
    _, _, terminated, _, info = env.step(act())
    assert not terminated and set(info) == {"label"}


def test_reward_plugins_by_name_and_object():
    env = gym.make(
        "GlimpseEnv-v0", split="test", reward="correct_entropy", reward_kwargs={"beta": 1.0}
    )
    env.reset(seed=0)
    _, reward, *_ = env.step(act(logits=np.zeros(10)))
    assert reward == pytest.approx(0.0, abs=1e-6)  # uniform belief: no entropy drop

    class Constant:
        def __call__(self, step):
            return torch.full(step.label.shape, 0.25)

    env = gym.make("GlimpseEnv-v0", split="test", reward=Constant())
    env.reset(seed=0)
    assert env.step(act())[1] == 0.25


def test_a_reward_of_the_wrong_shape_is_reported():
    env = gym.make("GlimpseEnv-v0", split="test", reward=lambda step: torch.zeros(3))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"expected a \(1,\) tensor"):
        env.step(act())


def test_information_gain_episode_sums_to_log_p_plus_log_n(mnist_env):
    env = gym.make("GlimpseEnv-v0", split="test", reward="information_gain")
    env.reset(seed=4)
    label = env.unwrapped.state.label.item()
    rng = np.random.default_rng(0)
    total, terminated = 0.0, False
    while not terminated:
        logits = rng.normal(size=10).astype(np.float32)
        _, reward, terminated, _, info = env.step(act(logits=logits))
        total += reward
    assert total == pytest.approx(math.log(info["belief"][label]) + math.log(10), abs=1e-5)


def test_observations_are_copies_of_the_state(mnist_env):
    obs, _ = mnist_env.reset(seed=0)
    obs["glimpse"][:] = 7.0
    state = mnist_env.unwrapped.state
    assert float(state.glimpse.max()) <= 1.0
    for _ in range(6):  # the final observation repeats the last glimpse: still a new array
        previous = obs
        obs, *_ = mnist_env.step(act())
        assert not np.shares_memory(previous["glimpse"], obs["glimpse"])
