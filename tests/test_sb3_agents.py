"""SB3 baselines: every algorithm on every action form, save and load, decoding as the wrappers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401  (registers the ids)
from agents.sb3.algos import ALGOS
from agents.sb3.metadata import can_load, read_metadata
from agents.sb3.policy import SB3Policy, save_model
from agents.sb3.train import train_sb3
from glimpse_env.commands.cli import main as cli_main
from glimpse_env.commands.policies import load_policy, policy_env
from glimpse_env.data import ImageDataset
from glimpse_env.faces.wrappers import DiscreteAction, FlatAction

SMALL = {  # hyperparameters that make a few hundred steps take a second
    "ppo": {"n_steps": 16, "batch_size": 32},
    "a2c": {},
    "dqn": {"learning_starts": 50, "buffer_size": 1_000},
    "recurrent_ppo": {"n_steps": 16, "batch_size": 32},
}
CASES = [  # (algo, action, frame_stack): every algorithm on every action form it can act in
    ("ppo", "flat", False),
    ("ppo", "discrete", True),
    ("a2c", "flat", True),
    ("a2c", "discrete", False),
    ("dqn", "discrete", False),
    ("dqn", "discrete", True),
    ("recurrent_ppo", "flat", False),
    ("recurrent_ppo", "discrete", False),
]


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a small shared machine, more threads only contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset() -> ImageDataset:
    images = torch.randint(
        0, 256, (20, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    return ImageDataset(images, torch.arange(20) % 10, classes=tuple("0123456789"))


def play_episode(env: gym.Env, policy, seed: int) -> tuple[dict, bool]:
    """One episode with ``policy`` in a native single env: ``(final info, terminated)``."""
    obs, _ = env.reset(seed=seed)
    state, start, terminated = None, True, False
    while not terminated:
        action, state = policy.predict(obs, state, np.array([start]))
        assert env.action_space.contains(
            {k: np.asarray(v, np.float32) for k, v in action.items()}
        ), action
        obs, _, terminated, _, info = env.step(action)
        start = False
    return info, terminated


def assert_same_actions(trained: SB3Policy, loaded: SB3Policy, env: gym.Env, steps: int = 8):
    """Both policies give identical deterministic actions along one episode's observations."""
    obs, _ = env.reset(seed=3)
    state_a = state_b = None
    for step in range(steps):
        start = np.array([step == 0])
        a, state_a = trained.predict(obs, state_a, start)
        b, state_b = loaded.predict(obs, state_b, start)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{key} at step {step}")
        obs, _, terminated, _, _ = env.step(a)
        if terminated:
            obs, _ = env.reset()
            state_a = state_b = None


def test_every_algorithm_has_a_save_and_load_case():
    """A new entry of ALGOS (sac, ...) must join CASES, so the safe loader is tried on it."""
    assert set(ALGOS) <= {algo for algo, _, _ in CASES}


@pytest.mark.parametrize(("algo", "action", "frame_stack"), CASES)
def test_algorithm_trains_saves_and_acts_natively(dataset, tmp_path, algo, action, frame_stack):
    run = train_sb3(
        algo, "GlimpseEnv-v0", 256, seed=0, env_kwargs={"dataset": dataset},
        hyperparams=SMALL[algo], num_envs=4, action=action, frame_stack=frame_stack,
    )  # fmt: skip
    assert 200 <= run.env_steps <= 256 + 64  # whole rollouts (on-policy), train_freq (DQN)
    assert run.curve.points and 0 <= run.curve.points[-1]["accuracy"] <= 1
    path = save_model(run.model, tmp_path / "model", run.metadata)
    assert path.suffix == ".zip" and can_load(path)
    meta = read_metadata(path)
    assert (meta.algo, meta.action, meta.frame_stack > 0) == (algo, action, frame_stack)
    assert ALGOS[algo].algo_class.load(path) is not None  # still SB3's own format

    env = gym.make("GlimpseEnv-v0", dataset=dataset)
    policy = load_policy(str(path), env)  # the gif command's loader table
    assert isinstance(policy, SB3Policy)
    assert_same_actions(run.policy, policy, env)  # rebuilt without SB3's load: acts the same
    info, terminated = play_episode(env, policy, seed=1)
    assert terminated and set(info) >= {"label", "correct", "belief"}
    if algo == "dqn" and not frame_stack:
        other = gym.make("GlimpseEnv-cluttered60-v0", dataset=dataset)
        with pytest.raises(ValueError, match="reads glimpses of shape"):
            load_policy(str(path), other)


def test_decoding_matches_the_gymnasium_wrappers(dataset):
    env = gym.make("GlimpseEnv-v0", dataset=dataset)
    flat_env, discrete_env = FlatAction(env), DiscreteAction(env)
    n = env.unwrapped.core.num_classes
    from agents.sb3.metadata import SB3Metadata

    flat = SB3Policy(None, SB3Metadata("ppo", "flat", n, logit_scale=flat_env.logit_scale))
    grid = discrete_env.grid.tolist()
    discrete = SB3Policy(None, SB3Metadata("dqn", "discrete", n, confidence=10.0, grid=grid))
    rng = np.random.default_rng(0)
    flat_actions = rng.uniform(-1.5, 1.5, (5, 2 + n)).astype(np.float32)
    discrete_actions = rng.integers(0, discrete_env.action_space.n, 5)
    for decoded, wrapper, actions in (
        (flat._decode(flat_actions), flat_env, flat_actions),
        (discrete._decode(discrete_actions), discrete_env, discrete_actions),
    ):
        for i, single in enumerate(actions):
            expected = wrapper.action(single)
            for key in ("location", "logits"):
                np.testing.assert_allclose(decoded[key][i], expected[key], rtol=0, atol=1e-6)


def test_train_command_saves_a_loadable_model(tmp_path, capsys):
    out = tmp_path / "dqn.zip"
    code = cli_main(
        ["train", "dqn", "--steps", "200", "--num-envs", "4", "--out", str(out),
         "--eval-episodes", "50", "--no-verbose", "--hyperparams", '{"learning_starts": 50}'],
    )  # fmt: skip
    assert code == 0 and can_load(out)
    printed = capsys.readouterr().out
    assert "test (test[8000:], 50 episodes, deterministic): accuracy" in printed
    assert read_metadata(out).env_kwargs["split"] == "test[:8000]"
    # the file records the split it was tested on: gif and play show those images
    assert read_metadata(out).test_split == "test[8000:]"
    assert policy_env(str(out), None, {}).kwargs["split"] == "test[8000:]"


def test_train_command_refuses_bad_json(capsys):
    assert cli_main(["train", "ppo", "--hyperparams", "{not json"]) == 2
    assert "--hyperparams must be a JSON object" in capsys.readouterr().err
