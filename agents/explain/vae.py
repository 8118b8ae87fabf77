"""A VAE that decodes the image from a frozen agent's hidden state after each glimpse.

The encoder ``q(z | h_t)`` maps the agent's hidden state ``h_t`` ``(B, D)`` to the mean and the
(unconstrained) log-variance of a diagonal Gaussian over ``z`` ``(B, Z)``; ``z`` is drawn with
the reparameterisation ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``; the decoder maps
``z`` to one logit per pixel of the image ``(B, C, H, W)``. The loss of an episode is, summed over
its ``T`` glimpses, the Bernoulli cross-entropy of the pixels (in ``[0, 1]``) plus
``KL(q(z | h_t) || N(0, I))``; the partial loss counts only the pixels the agent has seen by
glimpse ``t`` (a mask from :func:`agents.explain.footprint.footprint_masks`), to separate "what it
saw" from "what it imagines".

Files: :func:`save_vae` writes atomically (a temp file, then ``os.replace``) a dict of tensors and
primitives that :func:`load_vae` reads with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FORMAT",
    "HiddenStateVAE",
    "VAEConfig",
    "VAELoss",
    "VAEOutput",
    "kl_divergence",
    "load_vae",
    "reconstruction_loss",
    "reparameterize",
    "save_vae",
    "vae_loss",
]

FORMAT = "glimpse-env/explain-vae"
VERSION = 1


@dataclass(frozen=True)
class VAEConfig:
    """The VAE's sizes.

    Attributes:
        input_size: ``D``, the width of the agent's hidden state (``H``, or ``2H`` for ``(h, c)``).
        image_shape: ``(C, H, W)`` of the image (or canvas) decoded.
        latent_size: ``Z``.
        hidden_size: width of the encoder's and the decoder's hidden layers.
    """

    input_size: int
    image_shape: tuple[int, int, int]
    latent_size: int = 32
    hidden_size: int = 512

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["image_shape"] = list(self.image_shape)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VAEConfig:
        data = dict(data)
        data["image_shape"] = tuple(int(v) for v in data["image_shape"])
        return cls(**data)


@dataclass(frozen=True)
class VAEOutput:
    """One pass: ``logits`` ``(B, C, H, W)`` of the pixels, ``mu``, ``logvar``, ``z`` ``(B, Z)``."""

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor


@dataclass(frozen=True)
class VAELoss:
    """Scalars, per episode (summed over glimpses, averaged over the batch): ``total =
    reconstruction + kl``."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``; ``(B, Z)`` -> ``(B, Z)``."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row: ``(B, Z)`` -> ``(B,)`` nats.

    ``0.5 * sum(exp(logvar) + mu^2 - 1 - logvar)``.
    """
    return 0.5 * (logvar.exp() + mu.square() - 1.0 - logvar).sum(-1)


def reconstruction_loss(
    logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Bernoulli cross-entropy summed over pixels: ``(B, C, H, W)`` -> ``(B,)`` nats.

    Args:
        logits: the decoder's pixel logits.
        target: the image in ``[0, 1]``.
        mask: ``(B, 1 or C, H, W)`` bool, count only these pixels (the partial loss); None: all.
    """
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if mask is not None:
        bce = bce * mask.to(bce.dtype)
    return bce.flatten(1).sum(-1)


class HiddenStateVAE(nn.Module):
    """Encoder ``q(z | h)`` and decoder ``p(x | z)``, both two-layer MLPs.

    Args:
        config: the sizes.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        pixels = config.image_shape[0] * config.image_shape[1] * config.image_shape[2]
        width, latent = config.hidden_size, config.latent_size
        self.encoder = nn.Sequential(nn.Linear(config.input_size, width), nn.ReLU())
        self.mu = nn.Linear(width, latent)
        self.logvar = nn.Linear(width, latent)  # unconstrained: any real log-variance
        self.decoder = nn.Sequential(
            nn.Linear(latent, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, pixels),
        )  # fmt: skip

    def encode(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``(B, Z)``, of ``q(z | h)`` for hidden states ``(B, D)``."""
        features = self.encoder(hidden)
        return self.mu(features), self.logvar(features)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits ``(B, C, H, W)`` for latents ``(B, Z)``."""
        return self.decoder(z).unflatten(-1, self.config.image_shape)

    def forward(
        self, hidden: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True
    ) -> VAEOutput:
        """Encode ``(B, D)``, draw ``z`` (or take ``z = mu`` when ``sample`` is False), decode."""
        mu, logvar = self.encode(hidden)
        z = reparameterize(mu, logvar, generator) if sample else mu
        return VAEOutput(self.decode(z), mu, logvar, z)

    @torch.no_grad()
    def reconstruct(self, hidden: torch.Tensor) -> torch.Tensor:
        """The mean reconstruction ``sigmoid(decode(mu))`` in ``[0, 1]``: ``(..., D)`` ->
        ``(..., C, H, W)``."""
        lead = hidden.shape[:-1]
        mu, _ = self.encode(hidden.reshape(-1, hidden.shape[-1]))
        return torch.sigmoid(self.decode(mu)).reshape(*lead, *self.config.image_shape)


def vae_loss(
    vae: HiddenStateVAE,
    hiddens: torch.Tensor,
    images: torch.Tensor,
    masks: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> VAELoss:
    """The loss of a batch of episodes: reconstruction + KL, summed over the glimpses.

    Args:
        vae: the VAE.
        hiddens: ``(B, T, D)`` the agent's hidden state after each glimpse (detached here, so no
            gradient can reach the agent).
        images: ``(B, C, H, W)`` the images in ``[0, 1]``, the same for all ``T`` glimpses.
        masks: ``(B, T, 1 or C, H, W)`` bool, the pixels seen by glimpse ``t`` (partial loss);
            None: every pixel.
        generator: the RNG of ``eps``.
    """
    batch, steps = hiddens.shape[:2]
    out = vae(hiddens.detach().reshape(batch * steps, -1), generator)
    target = (
        images.unsqueeze(1)
        .expand(batch, steps, *images.shape[1:])
        .reshape(batch * steps, *images.shape[1:])
    )
    flat_masks = None if masks is None else masks.reshape(batch * steps, *masks.shape[2:])
    reconstruction = reconstruction_loss(out.logits, target, flat_masks).sum() / batch
    kl = kl_divergence(out.mu, out.logvar).sum() / batch
    return VAELoss(reconstruction + kl, reconstruction, kl)


def save_vae(path: str | Path, vae: HiddenStateVAE, metadata: dict[str, Any]) -> Path:
    """Write the VAE (config, weights, ``metadata`` of primitives) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": vae.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in vae.state_dict().items()},
        "metadata": metadata,
    }
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_vae(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[HiddenStateVAE, dict[str, Any]]:
    """Read a file of :func:`save_vae` (``weights_only=True``): ``(vae in eval mode, metadata)``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a glimpse-env explain VAE, or weights that do not fit its config.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VAE file at {path}")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # corrupt files raise many types
        raise ValueError(f"cannot read VAE file {path}: {type(err).__name__}: {err}") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ValueError(f"{path} is not a glimpse-env explain VAE ({FORMAT} v{VERSION})")
    try:
        vae = HiddenStateVAE(VAEConfig.from_dict(data["config"]))
        vae.load_state_dict(data["state_dict"])
    except (KeyError, TypeError, RuntimeError) as err:
        raise ValueError(f"{path}: the VAE weights do not fit its config: {err}") from err
    return vae.to(device).eval(), dict(data.get("metadata", {}))
