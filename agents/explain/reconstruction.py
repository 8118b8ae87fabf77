"""Reconstructions of the image from the agent's hidden state, and training the VAE that makes them.

:func:`train_vae` plays the frozen agent on the env's core (episodes under ``torch.no_grad()``,
the hidden states detached again in the loss, only the VAE's parameters in the optimiser) and
fits a :class:`~agents.explain.vae.HiddenStateVAE` to decode the image after every glimpse.
:func:`reconstructions` runs the agent over given observations and decodes each hidden state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.explain.episodes import Episodes, play, run_on_observations
from agents.explain.footprint import footprint_masks
from agents.explain.vae import HiddenStateVAE, VAEConfig, vae_loss
from glimpse_env.core.batched import GlimpseCore

__all__ = [
    "VAETraining",
    "core_footprints",
    "decode_hiddens",
    "reconstruction_mse",
    "reconstructions",
    "train_vae",
]


def core_footprints(core: GlimpseCore, locations: torch.Tensor) -> torch.Tensor:
    """What the agent has seen by each glimpse on ``core``'s canvases: ``(B, T, 1, H, W)`` bool
    for glimpse locations ``(B, T, 2)``."""
    c = core.config
    masks = footprint_masks(
        locations, core.canvas_shape[1:], c.patch_size, c.num_scales, c.scale_factor
    )
    return masks[:, :, None]


def decode_hiddens(vae: HiddenStateVAE, hiddens: torch.Tensor) -> torch.Tensor:
    """Mean reconstructions ``(B, T, C, H, W)`` in ``[0, 1]`` from hidden states ``(B, T, D)``."""
    return vae.reconstruct(hiddens.to(next(vae.parameters()).device))


def reconstruction_mse(recon: torch.Tensor, canvas: torch.Tensor) -> torch.Tensor:
    """Per-episode, per-glimpse mean squared error against the image.

    Args:
        recon: ``(B, T, C, H, W)`` reconstructions in ``[0, 1]``.
        canvas: ``(B, C, H, W)`` the images, uint8 (0..255) or float in ``[0, 1]``.

    Returns:
        ``(B, T)`` float64, the mean over pixels of ``(recon - image)^2``.
    """
    image = canvas.to(torch.float64)
    if not canvas.is_floating_point():
        image = image / 255.0
    return (recon.to(torch.float64) - image[:, None]).square().flatten(2).mean(-1)


def reconstructions(
    agent: Any, vae: HiddenStateVAE, glimpses: torch.Tensor | np.ndarray, locations: Any
) -> np.ndarray:
    """What ``vae`` decodes from ``agent``'s hidden state after each observation.

    Args:
        agent: the recurrent agent the VAE was trained for (or its RAMAgent).
        vae: the trained VAE.
        glimpses: ``(B, T, S*C, P, P)`` the observations' glimpses, in the order seen.
        locations: ``(B, T, 2)`` where they were taken.

    Returns:
        ``(B, T, C, H, W)`` float32 in ``[0, 1]``: the mean reconstruction after glimpse ``t``.
    """
    glimpses = torch.as_tensor(np.asarray(glimpses, dtype=np.float32))
    locations = torch.as_tensor(np.asarray(locations, dtype=np.float32))
    hiddens, _ = run_on_observations(agent, glimpses, locations)
    return decode_hiddens(vae, hiddens).cpu().numpy().astype(np.float32)


@dataclass(frozen=True)
class VAETraining:
    """How to fit the VAE.

    Attributes:
        epochs: passes over the core's split (new episodes each pass).
        batch_size: episodes per gradient step.
        learning_rate: Adam's.
        latent_size: ``Z``; hidden_size: the MLPs' width.
        partial: the reconstruction loss counts only the pixels seen so far.
        seed: seeds the VAE's initialisation, the image order, the episodes and ``eps``.
        kl_warmup: epochs over which the KL term's weight in the gradient rises linearly from
            0 to 1 (0: none), against posterior collapse on large canvases; the loss reported
            is always reconstruction + KL.
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    latent_size: int = 32
    hidden_size: int = 512
    partial: bool = False
    seed: int = 0
    kl_warmup: int = 0


def train_vae(
    agent: Any, core: GlimpseCore, settings: VAETraining, progress: bool = True
) -> tuple[HiddenStateVAE, list[dict[str, float]]]:
    """Fit a VAE that decodes ``core``'s images from ``agent``'s hidden states.

    Returns:
        ``(vae in eval mode, history)``: one dict per epoch with the mean per-episode ``loss``,
        ``reconstruction`` and ``kl`` (nats, summed over the glimpses).
    """
    device = core.device
    probe = play(agent, core, core.reset(torch.Generator(device=device), batch_size=1))
    config = VAEConfig(
        input_size=probe.hiddens.shape[-1],
        image_shape=core.canvas_shape,
        latent_size=settings.latent_size,
        hidden_size=settings.hidden_size,
    )
    torch.manual_seed(settings.seed)
    vae = HiddenStateVAE(config).to(device)
    optimizer = torch.optim.Adam(vae.parameters(), lr=settings.learning_rate)
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    history = []
    for epoch in range(1, settings.epochs + 1):
        sums = torch.zeros(3, dtype=torch.float64)
        order = torch.randperm(core.num_images, generator=generator, device=device)
        bar = tqdm(
            order.split(settings.batch_size),
            desc=f"VAE epoch {epoch}/{settings.epochs}",
            disable=not progress,
            leave=False,
        )
        for step, index in enumerate(bar):
            episodes: Episodes = play(agent, core, core.reset(generator, index=index))
            masks = core_footprints(core, episodes.locations) if settings.partial else None
            images = episodes.canvas.float() / 255.0
            loss = vae_loss(vae, episodes.hiddens, images, masks, generator)
            done = epoch - 1 + (step + 1) / len(bar)  # epochs done after this step
            kl_weight = min(1.0, done / settings.kl_warmup) if settings.kl_warmup > 0 else 1.0
            optimizer.zero_grad(set_to_none=True)
            (loss.reconstruction + kl_weight * loss.kl).backward()
            optimizer.step()
            parts = torch.stack([loss.total, loss.reconstruction, loss.kl]).detach().double()
            sums += parts.cpu() * len(index)
        mean = (sums / core.num_images).tolist()
        history.append({"epoch": epoch, "loss": mean[0], "reconstruction": mean[1], "kl": mean[2]})
        tqdm.write(
            f"VAE epoch {epoch}: loss {mean[0]:.1f} = reconstruction {mean[1]:.1f} + "
            f"KL {mean[2]:.1f} (nats per episode)"
        )
    return vae.eval(), history
