"""The hidden-state VAE: its KL, reparameterisation, losses, training, isolation and files."""

from __future__ import annotations

import math

import pytest
import torch

from agents.explain.reconstruction import VAETraining, train_vae
from agents.explain.vae import (
    HiddenStateVAE,
    VAEConfig,
    kl_divergence,
    load_vae,
    reconstruction_loss,
    reparameterize,
    save_vae,
    vae_loss,
)
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.data import ImageDataset


def tiny_core(count: int = 16, classes: int = 4, glimpses: int = 3) -> GlimpseCore:
    images = torch.randint(0, 256, (count, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    data = ImageDataset(
        images.to(torch.uint8), torch.arange(count) % classes, classes=tuple("abcd"[:classes])
    )
    return GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=glimpses))


def tiny_ram(core: GlimpseCore, core_kind: str = "rnn") -> RecurrentAttentionModel:
    torch.manual_seed(0)
    config = RAMConfig(
        glimpse_shape=core.glimpse_shape,
        num_classes=core.num_classes,
        glimpse_hidden=8,
        location_hidden=8,
        glimpse_features=16,
        hidden_size=16,
        core=core_kind,
    )
    return RecurrentAttentionModel(config)


def test_kl_matches_a_hand_computation():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # 0.5 * [(1 + 1 - 1 - 0) + (2 + 0 - 1 - log 2)] = 1 - log(2) / 2; and 0 for N(0, I) itself.
    expected = torch.tensor([1.0 - 0.5 * math.log(2.0), 0.0])
    torch.testing.assert_close(kl_divergence(mu, logvar), expected)
    # and against torch's closed form for independent Gaussians
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(
        kl_divergence(mu, logvar), torch.distributions.kl_divergence(q, p).sum(-1)
    )


def test_reparameterisation_draws_from_q_and_passes_gradients():
    mu = torch.tensor([[2.0, -1.0]], requires_grad=True)
    logvar = torch.tensor([[math.log(4.0), math.log(0.25)]], requires_grad=True)
    generator = torch.Generator().manual_seed(0)
    z = reparameterize(mu.expand(20000, 2), logvar.expand(20000, 2), generator)
    torch.testing.assert_close(z.mean(0), mu[0].detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([2.0, 0.5]), atol=0.05, rtol=0)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    # eps is the generator's N(0, I): the same seed gives the same z
    again = reparameterize(
        mu.expand(20000, 2), logvar.expand(20000, 2), torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(z, again)


def test_reconstruction_loss_is_bce_over_the_masked_pixels():
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 3.0]]]])  # (1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.5, 1.0]]]])
    bce = -(
        target * torch.log(torch.sigmoid(logits))
        + (1 - target) * torch.log(1 - torch.sigmoid(logits))
    )
    torch.testing.assert_close(reconstruction_loss(logits, target), bce.sum().reshape(1))
    mask = torch.tensor([[[[True, False], [False, True]]]])
    torch.testing.assert_close(
        reconstruction_loss(logits, target, mask), (bce[0, 0, 0, 0] + bce[0, 0, 1, 1]).reshape(1)
    )
    assert reconstruction_loss(logits, target, torch.zeros_like(mask)).item() == 0.0


def test_reconstruction_loss_falls_on_a_tiny_synthetic_set():
    # 4 patterns of 8x8 pixels; the "hidden state" says which one (plus noise) at each of T = 2.
    generator = torch.Generator().manual_seed(0)
    patterns = (torch.rand(4, 1, 8, 8, generator=generator) > 0.5).float()
    which = torch.arange(64) % 4
    hiddens = torch.nn.functional.one_hot(which, 4).float()[:, None].repeat(1, 2, 1)
    hiddens = hiddens + 0.05 * torch.randn(64, 2, 4, generator=generator)
    images = patterns[which]
    torch.manual_seed(0)
    vae = HiddenStateVAE(
        VAEConfig(input_size=4, image_shape=(1, 8, 8), latent_size=4, hidden_size=32)
    )
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    losses = []
    for _ in range(80):
        loss = vae_loss(vae, hiddens, images, generator=generator)
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
        losses.append(loss.reconstruction.item())
    assert losses[-1] < 0.3 * losses[0]
    # the loss of an episode sums its T = 2 glimpses: about twice one glimpse's
    one = vae_loss(vae, hiddens[:, :1], images, generator=torch.Generator().manual_seed(1))
    two = vae_loss(vae, hiddens, images, generator=torch.Generator().manual_seed(1))
    assert two.kl.item() == pytest.approx(2 * one.kl.item(), rel=0.05)


@pytest.mark.parametrize("core_kind", ["rnn", "lstm"])
@pytest.mark.parametrize("partial", [False, True])
def test_vae_training_leaves_the_agent_unchanged(core_kind, partial):
    core = tiny_core()
    agent = tiny_ram(core, core_kind)
    before = {k: v.clone() for k, v in agent.state_dict().items()}
    settings = VAETraining(
        2, 8, latent_size=4, hidden_size=32, partial=partial, kl_warmup=int(partial)
    )
    vae, history = train_vae(agent, core, settings, progress=False)
    for key, value in agent.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert all(p.grad is None for p in agent.parameters())
    assert vae.config.input_size == (16 if core_kind == "rnn" else 32)  # h, or [h, c]
    assert len(history) == 2 and all(math.isfinite(h["loss"]) for h in history)


def test_vae_loss_never_sends_gradient_into_the_agent():
    core = tiny_core()
    agent = tiny_ram(core)
    state = core.reset(torch.Generator().manual_seed(0), batch_size=4)
    out = agent.step(state.glimpse, state.location, agent.initial_state(4))  # with gradients
    assert out.hidden[0].requires_grad
    vae = HiddenStateVAE(VAEConfig(16, core.canvas_shape, 4, 32))
    loss = vae_loss(vae, out.hidden[0][:, None], state.canvas.float() / 255)
    loss.total.backward()
    assert all(p.grad is None for p in agent.parameters())
    assert all(p.grad is not None for p in vae.parameters())


def test_save_is_atomic_and_loads_weights_only(tmp_path):
    vae = HiddenStateVAE(VAEConfig(6, (1, 5, 7), latent_size=3, hidden_size=8))
    path = save_vae(tmp_path / "sub" / "vae.pt", vae, {"note": "x", "history": [{"loss": 1.0}]})
    assert sorted(p.name for p in path.parent.iterdir()) == ["vae.pt"]  # no temp file left
    raw = torch.load(path, weights_only=True)
    assert raw["config"]["image_shape"] == [1, 5, 7]
    loaded, meta = load_vae(path)
    assert meta["note"] == "x" and not loaded.training
    hidden = torch.randn(2, 3, 6)
    torch.testing.assert_close(loaded.reconstruct(hidden), vae.reconstruct(hidden))
    assert loaded.reconstruct(hidden).shape == (2, 3, 1, 5, 7)
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read"):
        load_vae(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError):
        load_vae(tmp_path / "missing.pt")
