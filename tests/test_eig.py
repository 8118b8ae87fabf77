"""The EIG agent's parts: the scorer by hand and against a loop, the flow's density, the phases,
checkpoints and resume, the gymnasium-loop agent and the GIF's heat map."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401
from agents.checkpoints import CheckpointFormat
from agents.eig.agent import EIGAgent
from agents.eig.checkpoint import CheckpointError, is_eig_checkpoint, load_checkpoint
from agents.eig.episodes import play
from agents.eig.flow import FlowPosterior
from agents.eig.lookahead import (
    expected_information_gain,
    information_gain,
    masked_argmax,
    nearest_cell,
)
from agents.eig.model import EIGConfig, EIGModel
from agents.eig.train import Args, train, trainable_parameters, training_loss
from agents.ram.checkpoint import save_checkpoint as save_ram_checkpoint
from glimpse_env.commands.policies import load_policy
from glimpse_env.commands.render_cli import run_episode
from glimpse_env.core.actions import discrete_grid
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.data.catalog import ImageDataset
from glimpse_env.faces.wrappers import grid_for

TINY = dict(
    cnn_channels=4,
    feature_size=16,
    hidden_size=32,
    latent_size=4,
    flow_layers=2,
    decoder_channels=8,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster than two, and far faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(seed: int = 0, canvas: int = 16, **sizes) -> EIGModel:
    torch.manual_seed(seed)
    model = EIGModel(EIGConfig(canvas_size=canvas, num_classes=3, **{**TINY, **sizes}))
    for layer in model.vae.posterior.flow.layers:  # a fresh flow is the identity: perturb it
        torch.nn.init.normal_(layer.net[-1].weight, std=0.3)
    return model


def tiny_data(n: int = 24, size: int = 16, seed: int = 0) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 3, classes=("a", "b", "c"), name="tiny")


# ----------------------------------------------------------------------------- the EIG score


def test_information_gain_by_hand():
    # Two samples: a glimpse at cell 0 makes the model sure of class 0 or of class 1; cell 1
    # never changes the belief. KL([.9, .1] || [.5, .5]) = .9 ln 1.8 + .1 ln .2.
    current = torch.log(torch.tensor([[0.5, 0.5]]))
    imagined = torch.log(torch.tensor([[[[0.9, 0.1], [0.5, 0.5]], [[0.1, 0.9], [0.5, 0.5]]]]))
    expected = 0.9 * math.log(1.8) + 0.1 * math.log(0.2)
    assert information_gain(imagined, current)[0].tolist() == pytest.approx(
        [expected, 0.0], abs=1e-6
    )


def test_expected_information_gain_on_a_toy_model_by_hand():
    # Latent samples z = +1, -1; the decoder makes f~(cell 0) = 2z, f~(cell 1) = 0; after an
    # imagined glimpse the logits are (f, -f), so p(y=0 | f~, h) = sigmoid(2f); p(y | h) uniform.
    z = torch.tensor([[[1.0], [-1.0]]])  # (B=1, P=2, Z=1)
    toy = SimpleNamespace(
        classifier=lambda h: torch.zeros(len(h), 2),
        vae=SimpleNamespace(
            posterior=SimpleNamespace(rsample=lambda h, p, g: (z, torch.zeros(1, 2))),
            decoder=lambda zz: torch.stack([2 * zz, torch.zeros_like(zz)], 1),  # (N, L=2, D=1)
        ),
        imagined_logits=lambda h, f: torch.cat([f, -f], -1),
    )
    eig = expected_information_gain(toy, torch.zeros(1, 5), num_samples=2)

    def kl_from_uniform(p0: float) -> float:
        return sum(p * math.log(p / 0.5) for p in (p0, 1 - p0))

    sure = 1 / (1 + math.exp(-4.0))  # f = +-2: both samples equally informative
    assert eig[0].tolist() == pytest.approx([kl_from_uniform(sure), 0.0], abs=1e-6)
    visited = torch.tensor([[True, False]])
    assert masked_argmax(eig, visited).tolist() == [1]  # the best cell is taken: never again


def test_batched_scorer_equals_a_loop_over_candidates():
    model = tiny_model()
    h = torch.randn(3, model.config.hidden_size)
    batched = expected_information_gain(model, h, 5, torch.Generator().manual_seed(7))
    z, _ = model.vae.posterior.rsample(h, 5, torch.Generator().manual_seed(7))
    log_belief = torch.log_softmax(model.classifier(h), -1)
    with torch.no_grad():
        for b in range(3):
            for cell, location in enumerate(model.grid):
                kls = []
                for p in range(5):
                    f = model.vae.decoder(z[b, p][None])[0, cell]
                    g = model.features.combine(f, location)
                    log_p = torch.log_softmax(model.classifier(model.recurrent(h[b], g)), -1)
                    kls.append((log_p.exp() * (log_p - log_belief[b])).sum())
                assert batched[b, cell] == pytest.approx(float(torch.stack(kls).mean()), abs=1e-5)


def test_visited_cells_are_never_chosen():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(200, 36, generator=g)
    visited = torch.rand(200, 36, generator=g) < 0.7
    visited[:, 5] = False  # at least one free cell per row
    chosen = masked_argmax(scores, visited)
    assert not visited[torch.arange(200), chosen].any()
    # whole episodes on the core: every glimpse on a new cell
    data = tiny_data()
    core = GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=5))
    model = tiny_model()
    with torch.no_grad():
        episodes = play(model, core, core.reset(g, batch_size=12), "eig", g, num_samples=3)
    for column in episodes.cells.T.tolist():
        assert len(set(column)) == len(column)
    assert episodes.eig.shape == (4, 12, 9)


def test_grid_is_the_env_discrete_grid():
    for size, cells in ((32, 49), (28, 36)):
        config = EIGConfig(canvas_size=size)
        assert torch.equal(config.grid(), discrete_grid(size, 8, 4))
        assert config.grid_size**2 == cells
    env = gym.make("GlimpseEnv-v0", dataset=tiny_data(size=28))
    assert torch.equal(EIGConfig(canvas_size=28).grid(), grid_for(env))
    grid = discrete_grid(28, 8, 4)
    assert nearest_cell(grid[[3, 17]] + 0.01, grid).tolist() == [3, 17]


# ----------------------------------------------------------------------------- the flow


def test_flow_log_density_matches_brute_force_change_of_variables():
    torch.manual_seed(0)
    posterior = FlowPosterior(hidden_size=6, latent_size=4, context_size=3, layers=3, flow_hidden=8)
    posterior = posterior.double()
    for layer in posterior.flow.layers:
        torch.nn.init.normal_(layer.net[-1].weight, std=0.5)
        torch.nn.init.normal_(layer.net[-1].bias, std=0.5)
    h = torch.randn(1, 6, dtype=torch.float64)
    with torch.no_grad():
        z, log_q = posterior.rsample(h, 3, torch.Generator().manual_seed(1))
        mu, log_std, context = posterior.base(h)
    for p in range(3):
        with torch.no_grad():
            eps, _ = posterior.flow.inverse(z[0, p][None], context)
            assert torch.allclose(posterior.flow(eps, context)[0], z[0, p][None], atol=1e-10)
        jacobian = torch.autograd.functional.jacobian(lambda e: posterior.flow(e, context)[0], eps)
        log_det = torch.linalg.slogdet(jacobian.reshape(4, 4)).logabsdet
        base = torch.distributions.Normal(mu[0], log_std[0].exp()).log_prob(eps[0]).sum()
        brute = float(base - log_det)
        assert float(log_q[0, p]) == pytest.approx(brute, abs=1e-8)
        with torch.no_grad():
            density = float(posterior.log_prob(z[:, p : p + 1], h)[0, 0])
        assert density == pytest.approx(brute, abs=1e-8)


# ----------------------------------------------------------------------------- training


def test_phase_two_step_leaves_f_r_c_unchanged():
    data = tiny_data()
    core = GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=3))
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(trainable_parameters(model, 2), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(2):
        parts = training_loss(model, core, core.reset(g, batch_size=8), 2, g)
        optimizer.zero_grad()
        parts["loss"].backward()
        optimizer.step()
    after = model.state_dict()
    frozen = ("features.", "recurrent.", "classifier.")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(frozen))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("vae."))
    assert parts["kl"] > 0 and parts["feature_nll"] > 0


def run_args(tmp_path, name: str, **kw) -> Args:
    base = dict(
        env="GlimpseEnv-v0",
        env_kwargs='{"num_glimpses": 3}',
        batch_size=8,
        eval_samples=2,
        progress=False,
        tensorboard=False,
        test=False,
        out=str(tmp_path / name),
        **TINY,
    )
    return Args(**{**base, **kw})


def test_phases_chain_resume_exactly_and_checkpoints_load_safely(tmp_path, monkeypatch):
    data = tiny_data()
    train(run_args(tmp_path, "p1", phase=1, epochs=1), data)
    p1 = tmp_path / "p1" / "last.pt"
    with pytest.raises(ValueError, match="--init-from"):
        train(run_args(tmp_path, "bad", phase=2, epochs=1), data)
    # phase 2: two epochs straight, and two epochs interrupted after the first, then resumed
    train(run_args(tmp_path, "p2", phase=2, epochs=2, init_from=str(p1)), data)
    real_save = CheckpointFormat.save

    def save_then_stop(self, path, payload):  # the harness writes last.pt, then Ctrl-C
        real_save(self, path, payload)
        raise KeyboardInterrupt

    monkeypatch.setattr(CheckpointFormat, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train(run_args(tmp_path, "p2r", phase=2, epochs=2, init_from=str(p1)), data)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="other arguments"):
        train(
            run_args(tmp_path, "p2r", phase=2, epochs=2, init_from=str(p1), resume=True, seed=5),
            data,
        )
    train(run_args(tmp_path, "p2r", phase=2, epochs=2, init_from=str(p1), resume=True), data)
    straight = load_checkpoint(tmp_path / "p2" / "last.pt")["model"]
    again = load_checkpoint(tmp_path / "p2r" / "last.pt")["model"]
    assert all(torch.equal(straight[k], again[k]) for k in straight)
    summary = train(
        run_args(
            tmp_path, "p3", phase=3, epochs=1, init_from=str(tmp_path / "p2" / "last.pt"), test=True
        ),
        data,
    )
    assert [r["rule"] for r in summary["results"]] == ["eig", "random", "center"]
    saved = torch.load(tmp_path / "p3" / "last.pt", weights_only=True)
    assert saved["phase"] == 3 and saved["env_kwargs"]["dataset"] == "tiny"
    assert len((tmp_path / "p3" / "metrics.csv").read_text().splitlines()) == 2
    # a RAM checkpoint is a torch file too, but not an EIG checkpoint
    ram = tmp_path / "ram.pt"
    save_ram_checkpoint(ram, {"model": {}})
    assert is_eig_checkpoint(p1) and not is_eig_checkpoint(ram)
    with pytest.raises(CheckpointError, match="not an EIG checkpoint"):
        load_checkpoint(ram)


# ----------------------------------------------------------------------------- the agent


@pytest.fixture
def checkpoint(tmp_path):
    """A phase-2 checkpoint of the tiny model on 16x16 images (untrained weights)."""
    from agents.eig.checkpoint import save_checkpoint

    model = tiny_model()
    path = tmp_path / "eig.pt"
    save_checkpoint(
        path,
        {
            "model_config": model.config.to_dict(),
            "model": model.state_dict(),
            "env_id": "GlimpseEnv-v0",
            "env_kwargs": {},
            "phase": 2,
        },
    )
    return path


def test_agent_plays_a_plain_gymnasium_loop(checkpoint):
    env = gym.make("GlimpseEnv-v0", dataset=tiny_data(), num_glimpses=4)
    agent = EIGAgent.from_checkpoint(checkpoint, num_samples=3)
    obs, _ = env.reset(seed=0)
    state, done, cells = None, False, []
    grid = agent.grid
    while not done:
        action, state = agent.predict(obs, state, episode_start=np.array([not cells]))
        assert agent.eig_map.shape == (3, 3) and agent.visited.shape == (9,)
        assert not agent.visited[agent.chosen]
        assert np.allclose(action["location"], grid[agent.chosen])
        cells.append(agent.chosen)
        obs, _, done, _, info = env.step(action)
    assert len(set(cells[:-1])) == 3 and "correct" in info
    batch = {
        "glimpse": np.zeros((2, 1, 8, 8), np.float32),
        "location": np.zeros((2, 2), np.float32),
    }
    action, state = agent.predict(batch)
    assert action["location"].shape == (2, 2) and action["logits"].shape == (2, 3)
    assert agent.eig_map.shape == (2, 3, 3)
    with pytest.raises(ValueError, match="state does not fit"):
        agent.predict(obs, state)


def test_gif_policy_loader_draws_the_eig_map(checkpoint):
    plain = gym.make("GlimpseEnv-v0", dataset=tiny_data(), render_mode="rgb_array")
    env = gym.make("GlimpseEnv-v0", dataset=tiny_data(), render_mode="rgb_array")
    policy = load_policy(str(checkpoint), env)
    assert isinstance(policy, EIGAgent)
    frames, _ = run_episode(env, policy, seed=0)
    plain.reset(seed=0)
    width = plain.render().shape[1]
    assert {f.shape for f in frames} == {frames[0].shape} and frames[0].shape[1] > width
    assert not np.array_equal(frames[0][:, width:], frames[1][:, width:])  # the map appeared


def test_colour_ids_train_on_the_7x7_grid(tmp_path, synthetic_root):
    # CIFAR-10's id through the same command (synthetic files: no real CIFAR on these machines)
    args = run_args(tmp_path, "cifar", env="GlimpseEnv-cifar10-v0", phase=1, epochs=1,
                    env_kwargs=None, split="train", test_split="test", test=True,
                    data_root=str(synthetic_root))  # fmt: skip
    summary = train(args)
    config = load_checkpoint(tmp_path / "cifar" / "last.pt")["model_config"]
    assert config["glimpse_shape"] == [3, 8, 8] and config["canvas_size"] == 32
    assert EIGConfig.from_dict(config).grid_size == 7
    assert len(summary["results"][0]["accuracy_per_glimpse"]) == 8
