"""The benchmark's reference agents and evaluator: classifier guesses, chance, fixed episodes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.benchmark.agents import chance_cell, classifier_cell, ram_cell
from agents.evaluation import EvalProtocol, evaluate_policy, make_core
from agents.glimpse_classifier import GlimpseClassifier, train_glimpse_classifier
from agents.heuristics import CenterPolicy, ChancePolicy, ClassifierGuessPolicy, RandomPolicy
from agents.ram import RAMAgent
from glimpse_env.data.catalog import SHARED_TRAIN_SPLIT

TRAIN = {"split": SHARED_TRAIN_SPLIT}
EVAL = EvalProtocol(episodes=300).to_dict()


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_center_classifier_learns_and_beats_chance(shared_data):
    core = make_core("GlimpseEnv-v0", **TRAIN)
    run = train_glimpse_classifier(core, "center", budget=9_000, seed=0)
    assert run.env_steps <= 9_000
    assert run.curve.points[-1]["accuracy"] > 0.25  # chance is 0.1
    cell = classifier_cell("center", "GlimpseEnv-v0", 0, 9_000, TRAIN, EVAL)
    chance = chance_cell("GlimpseEnv-v0", 0, 9_000, TRAIN, EVAL)
    assert cell.accuracy > 0.3 and cell.eval_episodes == 300
    assert chance.accuracy < 0.2 and chance.env_steps == 0
    assert cell.accuracy == cell.mean_return  # the 'correct' reward: 1 for a right guess


def test_ram_cell_trains_whole_epochs_within_the_budget(shared_data, tmp_path):
    points = []
    cell = ram_cell(
        "GlimpseEnv-v0",
        0,
        7_000,
        {"split": "test[:500]"},
        EVAL,
        save_to=str(tmp_path / "ram"),
        progress=points.append,
    )  # 3,000 steps per epoch
    assert (cell.info["epochs"], cell.env_steps) == (2, 6_000)
    assert [point["env_steps"] for point in cell.curve] == [3_000, 6_000]
    assert points == cell.curve  # each epoch's point as it ended
    assert 0 <= cell.accuracy <= 1 and cell.eval_episodes == 300
    # the kept checkpoint is the evaluated agent
    assert cell.info["model"] == str(tmp_path / "ram.pt")
    agent = RAMAgent.from_checkpoint(cell.info["model"])
    core = make_core("GlimpseEnv-v0", **EvalProtocol.from_dict(EVAL).env_kwargs(TRAIN))
    assert evaluate_policy(agent, core, episodes=300).accuracy == cell.accuracy


def test_evaluation_plays_fixed_episodes(shared_data):
    core = make_core("GlimpseEnv-v0", **EvalProtocol().env_kwargs(TRAIN))
    assert core.config.fixed_canvases and core.num_images == 2000
    policy = ClassifierGuessPolicy(
        RandomPolicy(10, seed=0), GlimpseClassifier(core.glimpse_shape, 10)
    )
    first = evaluate_policy(policy, core, episodes=250, seed=3, batch_size=100)
    policy.looker.rng = np.random.default_rng(0)
    again = evaluate_policy(policy, core, episodes=250, seed=3, batch_size=100)
    assert first.episodes == 250 and (first.accuracy, first.mean_return) == (
        again.accuracy,
        again.mean_return,
    )


def test_classifier_guess_state_restarts_with_episodes():
    classifier = GlimpseClassifier((1, 8, 8), 10)
    policy = ClassifierGuessPolicy(CenterPolicy(10), classifier)
    rng = np.random.default_rng(0)
    obs = {
        "glimpse": rng.random((3, 1, 8, 8), dtype=np.float32),
        "location": np.zeros((3, 2), np.float32),
    }
    fresh, state = policy.predict(obs)
    _, state = policy.predict(obs, state, np.zeros(3, bool))
    restarted, _ = policy.predict(obs, state, np.array([True, False, True]))
    np.testing.assert_allclose(restarted["logits"][[0, 2]], fresh["logits"][[0, 2]], atol=1e-6)
    assert not np.allclose(restarted["logits"][1], fresh["logits"][1])
    single, _ = policy.predict({key: value[0] for key, value in obs.items()})
    assert single["logits"].shape == (10,) and single["location"].shape == (2,)


def test_chance_policy_guesses_every_class():
    policy = ChancePolicy(num_classes=10, seed=0)
    obs = {"glimpse": np.zeros((500, 1, 8, 8), np.float32), "location": np.zeros((500, 2))}
    action, _ = policy.predict(obs)
    guesses = action["logits"].argmax(1)
    assert set(guesses.tolist()) == set(range(10))
    assert np.abs(action["location"]).max() <= 1


def test_ram_train_follows_one_run_only():
    from agents.ram.train import Args, train

    with pytest.raises(ValueError, match="on_epoch follows one run"):
        train(Args(env="GlimpseEnv-v0", seeds="1,2", out=None), on_epoch=print)
