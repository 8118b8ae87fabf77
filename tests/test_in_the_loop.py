"""The in-the-loop wrappers: one classifier module, three faces that agree, the env's own reward
for the classifier's belief, online learning, and one-line errors for what does not fit."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env

import glimpse_env  # noqa: F401
from agents.in_the_loop.classifier import ClassifierSettings, OnlineClassifier
from agents.in_the_loop.loop import BeliefLoop, row_softmax
from agents.in_the_loop.sb3 import InTheLoopSB3VecEnv
from agents.in_the_loop.vector import InTheLoopVectorEnv
from agents.in_the_loop.wrapper import InTheLoop
from glimpse_env.data import ImageDataset
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.faces.wrappers import FlatAction

CLASSES = 4
T = 3


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def level_dataset(n: int = 64, seed: int = 0) -> ImageDataset:
    """16x16 images whose brightness is their class (visible in every glimpse), plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    images = labels[:, None, None, None] * 60 + torch.randint(0, 30, (n, 1, 16, 16), generator=g)
    return ImageDataset(images.to(torch.uint8), labels, tuple("abcd"), name="levels")


def make_single(**kwargs) -> gym.Env:
    return gym.make("GlimpseEnv-v0", dataset=level_dataset(), num_glimpses=T, **kwargs)


def make_vector(num_envs: int, **kwargs) -> GlimpseVectorEnv:
    return GlimpseVectorEnv(num_envs=num_envs, dataset=level_dataset(), num_glimpses=T, **kwargs)


def frozen_classifier(seed: int = 0) -> OnlineClassifier:
    env = make_single()
    return OnlineClassifier.for_core(env.unwrapped.core, ClassifierSettings(hidden=16), seed=seed)


def test_spaces_and_sb3_env_checker():
    env = InTheLoop(make_single())
    assert env.action_space == gym.spaces.Box(-1, 1, (2,), np.float32)
    assert env.observation_space.shape == (64 + 2 + CLASSES,)
    check_env(env, skip_render_check=True)
    grid = InTheLoop(make_single(), action="grid", observation="dict", with_state=True)
    assert grid.action_space == gym.spaces.Discrete(9)  # 3 x 3 cells of 8x8 on 16x16
    assert grid.observation_space["belief"].shape == (CLASSES + 16 * 8,)


def test_the_env_receives_the_classifiers_belief():
    """The final belief the env reports is the softmax of the classifier's logits on exactly the
    episode's glimpses, and information_gain is computed on it."""
    classifier = frozen_classifier()
    env = InTheLoop(make_single(reward="information_gain"), classifier, learn=False)
    obs, info = env.reset(seed=3)
    glimpses, locations, rewards = [obs[:64].reshape(1, 8, 8)], [obs[64:66]], []
    terminated = False
    while not terminated:
        obs, reward, terminated, _, info = env.step(np.array([0.3, -0.2], np.float32))
        rewards.append(reward)
        if not terminated:
            glimpses.append(obs[:64].reshape(1, 8, 8))
            locations.append(obs[64:66])
    assert len(glimpses) == T
    with torch.no_grad():
        logits = classifier.net.sequence(
            torch.tensor(np.stack(glimpses))[None], torch.tensor(np.stack(locations))[None]
        )[0]
    belief = torch.softmax(logits, -1)
    np.testing.assert_allclose(info["belief"], belief[-1].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(obs[66:], belief[-1].numpy(), rtol=1e-5, atol=1e-6)  # observed
    gains = torch.log(belief[:, info["label"]]) - torch.log(
        torch.cat([torch.full((1,), 1 / CLASSES), belief[:-1, info["label"]]])
    )
    np.testing.assert_allclose(rewards, gains.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_face_plays_what_the_single_face_plays(mode):
    """Env 0 of a one-env vector wrapper sees, believes and earns what the single wrapper does
    (the vector env with one env plays the single env's episodes for the same seed)."""
    classifier = frozen_classifier()
    single = InTheLoop(make_single(reward="information_gain"), classifier, learn=False)
    vector = InTheLoopVectorEnv(
        make_vector(1, reward="information_gain", autoreset_mode=mode), classifier, learn=False
    )
    obs, _ = single.reset(seed=5)
    vobs, _ = vector.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(2 * T):
        np.testing.assert_allclose(vobs[0], obs, atol=1e-6)
        action = rng.uniform(-1, 1, 2).astype(np.float32)
        obs, reward, terminated, _, _ = single.step(action)
        vobs, vreward, vterminated, _, vinfo = vector.step(action[None])
        assert vterminated[0] == terminated and vreward[0] == pytest.approx(reward, abs=1e-6)
        if terminated:
            final = vinfo["final_obs"][0] if mode == "same_step" else vobs[0]
            np.testing.assert_allclose(final, obs, atol=1e-6)
            obs, _ = single.reset()
            if mode == "next_step":  # the step after the end restarts the episode
                vobs, *_ = vector.step(np.zeros((1, 2), np.float32))


def test_sb3_face_plays_what_the_vector_face_plays():
    classifier = frozen_classifier()
    vector = InTheLoopVectorEnv(make_vector(4, autoreset_mode="same_step"), classifier, learn=False)
    sb3 = InTheLoopSB3VecEnv(make_vector(4), classifier, learn=False)
    vobs, _ = vector.reset(seed=2)
    sb3.seed(2)
    obs = sb3.reset()
    rng = np.random.default_rng(1)
    for _ in range(2 * T):
        np.testing.assert_allclose(obs, vobs, atol=1e-6)
        actions = rng.uniform(-1, 1, (4, 2)).astype(np.float32)
        obs, rewards, dones, infos = sb3.step(actions)
        vobs, vrewards, vterminated, _, vinfo = vector.step(actions)
        np.testing.assert_allclose(rewards, vrewards, atol=1e-6)
        assert (dones == vterminated).all()
        for i in np.flatnonzero(dones):
            np.testing.assert_allclose(infos[i]["terminal_observation"], vinfo["final_obs"][i])


def test_classifier_learns_online_on_a_small_task():
    """Through the vector wrapper with random locations, the classifier learns the classes
    (visible as brightness in every glimpse) from the episodes it sees: the env's accuracy of
    its final belief goes from chance to near 1."""
    env = InTheLoopVectorEnv(
        make_vector(32),
        settings=ClassifierSettings(hidden=32, learning_rate=3e-3, update_every=1,
                                    batch_episodes=64),
    )  # fmt: skip
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    accuracy = []
    for _ in range(40 * T):
        _, _, terminated, _, info = env.step(rng.uniform(-1, 1, (32, 2)).astype(np.float32))
        if terminated.any():
            accuracy.append(float(info["correct"][terminated].mean()))
    assert env.classifier.updates > 50
    assert accuracy[0] < 0.5  # the first episodes end before the first update
    assert np.mean(accuracy[-5:]) > 0.9


def test_a_wrapper_without_learning_leaves_the_classifier_alone():
    classifier = frozen_classifier()
    before = [p.detach().clone() for p in classifier.net.parameters()]
    env = InTheLoopVectorEnv(make_vector(8), classifier, learn=False)
    env.reset(seed=0)
    for _ in range(4 * T):
        env.step(np.zeros((8, 2), np.float32))
    assert classifier.updates == 0
    assert all(torch.equal(a, b) for a, b in zip(before, classifier.net.parameters(), strict=True))


def test_grid_actions_look_at_the_cells():
    env = InTheLoopVectorEnv(make_vector(2), action="grid")
    env.reset(seed=0)
    obs, *_ = env.step(np.array([0, 8]))
    np.testing.assert_allclose(obs[:, 64:66], [[-0.5, -0.5], [0.5, 0.5]])


class DropLabel(gym.Wrapper):
    """An env that gives learners no label."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, {k: v for k, v in info.items() if k != "label"}


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_bad_envs_are_refused_in_one_line():
    with pytest.raises(ValueError) as err:
        InTheLoop(DropLabel(make_single())).reset(seed=0)
    assert "info['label']" in one_line(err)
    with pytest.raises(ValueError) as err:
        InTheLoop(gym.make("CartPole-v1"))
    assert "glimpse env" in one_line(err)
    with pytest.raises(ValueError) as err:
        InTheLoop(FlatAction(make_single()))
    assert "native Dict action" in one_line(err)
    with pytest.raises(ValueError) as err:
        InTheLoop(make_single(early_stop=True))
    assert "early_stop" in one_line(err)
    other = OnlineClassifier((1, 12, 12), CLASSES, T)
    with pytest.raises(ValueError) as err:
        InTheLoopVectorEnv(make_vector(2), other)
    assert "(1, 12, 12)" in one_line(err) and "(1, 8, 8)" in one_line(err)


def test_bad_actions_are_refused_and_the_env_stays_usable():
    env = InTheLoop(make_single())
    env.reset(seed=0)
    for bad in (np.array([np.nan, 0.0]), np.zeros(3)):
        with pytest.raises(ValueError):
            env.step(bad)
    env.step(np.zeros(2, np.float32))
    grid = InTheLoop(make_single(), action="grid")
    grid.reset(seed=0)
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        grid.step(9)
    grid.step(4)


def test_the_cleanrl_style_example_runs(monkeypatch):
    """examples/cleanrl_style_in_the_loop.py: a plain gymnasium vector loop, unchanged."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "cleanrl_style_in_the_loop.py"
    spec = importlib.util.spec_from_file_location("cleanrl_style_in_the_loop", path)
    example = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, example)  # dataclasses look their module up
    spec.loader.exec_module(example)
    args = example.Args(
        split="test[:200]", num_envs=8, total_timesteps=480, learning_starts=240, batch_size=32
    )
    result = example.main(args)
    assert 0.0 <= result["accuracy"] <= 1.0 and np.isfinite(result["return"])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 40),
    classes=st.integers(1, 12),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_row_softmax_is_torch_softmax(rows, classes, scale, seed):
    """The observation's belief: torch's softmax to float rounding, for small and huge logits
    (no overflow: the row maximum is subtracted), and the input left unchanged."""
    logits = torch.randn(rows, classes, generator=torch.Generator().manual_seed(seed)) * scale
    before = logits.clone()
    got = row_softmax(logits)
    torch.testing.assert_close(got, torch.softmax(logits, dim=-1), rtol=1e-5, atol=1e-6)
    assert torch.equal(logits, before)


@settings(max_examples=60, deadline=None)
@given(
    masks=st.lists(st.tuples(*[st.integers(0, 7)] * 3), min_size=1, max_size=14),
    lockstep=st.booleans(),
)
def test_the_buffer_holds_exactly_the_glimpses_each_episode_saw(masks, lockstep):
    """A model of the recording, over random step patterns of 3 envs (2 recorded): each episode
    handed to the buffer holds the glimpses and locations its env read since its start, in order
    (the first ``T``; later ones overwrite the last place), its length and its label. With
    ``lockstep`` every env starts and reads together (the vector envs' case, a faster path)."""
    n, recorded = 3, 2
    classifier = OnlineClassifier(
        (1, 2, 2), CLASSES, T, ClassifierSettings(hidden=4, record_envs=recorded, batch_episodes=2)
    )
    loop = BeliefLoop(classifier, n)
    rng = np.random.default_rng(len(masks))
    bits = lambda mask: torch.tensor([bool(mask >> i & 1) for i in range(n)])  # noqa: E731
    model = [[] for _ in range(recorded)]  # (glimpse, location) read since each episode's start
    expected = []
    for step, (done_mask, start_mask, seen_mask) in enumerate(masks):
        done, start, seen = bits(done_mask), bits(start_mask), bits(seen_mask)
        if lockstep:
            done, start, seen = (mask.all().expand(n) for mask in (done, start, seen))
        if step == 0:  # nothing to hand over yet; everyone starts
            done, start = torch.zeros(n, dtype=torch.bool), torch.ones(n, dtype=torch.bool)
        glimpse = torch.tensor(rng.random((n, 1, 2, 2)), dtype=torch.float32)
        location = torch.tensor(rng.uniform(-1, 1, (n, 2)), dtype=torch.float32)
        labels = torch.tensor(rng.integers(0, CLASSES, n))
        for i in range(recorded):
            if done[i]:
                expected.append((list(model[i]), int(labels[i])))
            if start[i]:
                model[i] = []
            if seen[i]:
                model[i].append((glimpse[i], location[i]))
        loop.advance(glimpse, location, start=start, seen=seen, done=done, labels=labels)
    buffer = classifier.buffer
    assert buffer.size == len(expected)
    for k, (episode, label) in enumerate(expected):
        assert int(buffer.lengths[k]) == len(episode) and int(buffer.labels[k]) == label
        places = {}
        for position, read in enumerate(episode):
            places[min(position, T - 1)] = read
        for place, (glimpse, location) in places.items():
            assert torch.equal(buffer.glimpses[k, place], glimpse)
            assert torch.equal(buffer.locations[k, place], location)
