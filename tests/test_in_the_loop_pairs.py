"""A trained agent and its classifier: saved as one file, replayed as it was trained (``gif``,
``eval``, the benchmark), refused in one line on an env of another configuration."""

from __future__ import annotations

import io
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401
from agents.evaluation import evaluate_policy
from agents.in_the_loop.algos import LOOP_AGENTS
from agents.in_the_loop.names import DESCRIPTIONS
from agents.in_the_loop.pair import CLASSIFIER_MEMBER, can_load, load_pair, save_pair
from agents.in_the_loop.train import train_loop
from glimpse_env.commands.cli import main as cli
from glimpse_env.commands.policies import policy_env
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.data import ImageDataset

T = 3
TINY = {
    "sac_loop": {"learning_starts": 16, "buffer_size": 500, "batch_size": 16},
    "dqn_loop": {"learning_starts": 16, "buffer_size": 500, "batch_size": 16},
    "recurrent_ppo_loop": {"n_steps": 8, "batch_size": 16},
    "sac_hybrid": {"learning_starts": 16, "buffer_size": 500, "batch_size": 16},
    "ppo_hybrid": {"n_steps": 8, "batch_size": 16},
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def noise_dataset(n: int = 32) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 4, tuple("abcd"), name="noise")


def test_every_agent_is_named_and_registered():
    from agents.benchmark.registry import AGENTS
    from glimpse_env.commands.plugins import agents

    assert set(DESCRIPTIONS) == set(LOOP_AGENTS)
    assert set(DESCRIPTIONS) <= set(AGENTS)
    assert set(DESCRIPTIONS) | {"in_the_loop"} <= set(agents())


@pytest.mark.parametrize("agent", sorted(TINY))
def test_save_and_load_replays_the_same_pair(agent, tmp_path):
    """The loaded pair takes exactly the trained pair's actions and logits, episode after
    episode, on a batch and on one env."""
    data = noise_dataset()
    run = train_loop(
        agent, "GlimpseEnv-v0", 96, env_kwargs={"dataset": data, "num_glimpses": T},
        hyperparams=TINY[agent], num_envs=4,
    )  # fmt: skip
    path = save_pair(run.model, tmp_path / "pair", run.metadata, run.classifier)
    assert path.suffix == ".zip" and can_load(path)
    assert (CLASSIFIER_MEMBER in zipfile.ZipFile(path).namelist()) == agent.endswith("_loop")
    env = gym.make("GlimpseEnv-v0", dataset=data, num_glimpses=T)
    trained, loaded = run.policy, load_pair(path, env)
    core = GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=T))
    state = core.reset(torch.Generator().manual_seed(0), batch_size=8)
    obs = {"glimpse": state.glimpse.numpy(), "location": state.location.numpy()}
    mine = theirs = None
    for _ in range(2 * T):
        expected, mine = trained.predict(obs, mine)
        actual, theirs = loaded.predict(obs, theirs)
        for key in ("location", "logits"):
            np.testing.assert_allclose(actual[key], expected[key], atol=1e-6)
        state, _ = core.step(state, torch.as_tensor(actual["location"]), torch.zeros(8, 4))
        obs = {"glimpse": state.glimpse.numpy(), "location": state.location.numpy()}
    single = {key: value[0] for key, value in obs.items()}
    action, _ = loaded.predict(single)
    assert action["location"].shape == (2,) and action["logits"].shape == (4,)
    fixed = GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=T, fixed_canvases=True))
    assert evaluate_policy(trained, fixed).accuracy == evaluate_policy(loaded, fixed).accuracy


@pytest.fixture(scope="module")
def saved_pair(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("pair") / "sac_loop.zip"
    run = train_loop(
        "sac_loop", "GlimpseEnv-v0", 64, env_kwargs={"split": "test[:200]"},
        hyperparams=TINY["sac_loop"], num_envs=4,
    )  # fmt: skip
    return str(save_pair(run.model, path, run.metadata, run.classifier))


def test_a_pair_on_an_env_of_another_configuration_is_one_line(saved_pair):
    env = gym.make("GlimpseEnv-v0", split="test[:100]", num_glimpses=4)
    with pytest.raises(ValueError) as err:
        load_pair(saved_pair, env)
    message = str(err.value)
    assert "\n" not in message and "glimpses per episode 4 (trained: 6)" in message


def test_a_broken_classifier_member_is_one_line(saved_pair, tmp_path):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(saved_pair) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == CLASSIFIER_MEMBER:
                buffer = io.BytesIO()
                torch.save({"format": "something else"}, buffer)
                data = buffer.getvalue()
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="not an in-the-loop classifier"):
        load_pair(broken)


def test_eval_and_gif_replay_the_pair(saved_pair, tmp_path, capsys):
    assert cli(["eval", "sac_loop", "--model", saved_pair, "--episodes", "20"]) == 0
    assert "accuracy" in capsys.readouterr().out
    gif = tmp_path / "pair.gif"
    assert cli(["gif", "--policy", saved_pair, "--out", str(gif), "--episodes", "1"]) == 0
    assert gif.stat().st_size > 0
    code = cli(["eval", "sac_loop", "--model", saved_pair, "--env", "GlimpseEnv-cluttered60-v0"])
    assert code == 2
    assert "this env differs" in capsys.readouterr().err


def test_train_command_writes_a_pair_that_is_tested(tmp_path, capsys):
    out = tmp_path / "ppo_loop.zip"
    argv = [
        "train", "ppo_loop", "--steps", "128", "--split", "test[:200]",
        "--test-split", "test[9000:9050]", "--hyperparams", '{"n_steps": 8, "batch_size": 32}',
        "--out", str(out), "--no-verbose",
    ]  # fmt: skip
    assert cli(argv) == 0
    printed = capsys.readouterr().out
    assert "test (test[9000:9050], 50 episodes" in printed and can_load(out)
    choice = policy_env(str(out), None, {})  # what gif and play show: the tested images
    assert (choice.env_id, choice.kwargs["split"]) == ("GlimpseEnv-v0", "test[9000:9050]")


def test_benchmark_cell_of_a_loop_agent(tmp_path, capsys):
    from agents.benchmark.registry import resolve_agent

    result = resolve_agent("ppo_hybrid")(
        "GlimpseEnv-v0", 0, 128, {"split": "test[:200]"}, {"split": "test[9000:9050]"},
        save_to=str(tmp_path / "cell"),
    )  # fmt: skip
    assert result.eval_episodes == 50 and 0.0 <= result.accuracy <= 1.0
    assert result.env_steps == 1024  # one whole rollout: 64 steps x 16 envs
    assert result.info["kind"] == "hybrid"
    # the cell kept its pair: it replays the accuracy the cell measured, on the tested split
    assert result.info["model"] == str(tmp_path / "cell.zip")
    assert policy_env(result.info["model"], None, {}).kwargs["split"] == "test[9000:9050]"
    code = cli(["eval", "ppo_hybrid", "--model", result.info["model"]])
    assert code == 0
    assert f"accuracy {result.accuracy:.4f}" in capsys.readouterr().out
