"""The probabilistic hard-attention model (Rangrej & Clark, BMVC 2021): F, R, C and the partial VAE.

One glimpse ``x_t`` seen at ``l_t`` updates the belief::

    f_t = F_what(x_t)                                  glimpse features (what D predicts)
    g_t = LayerNorm(LeakyReLU(f_t + F_where(l_t)))     F: features with the location
    h_t = LayerNorm(LeakyReLU(W_h h_{t-1} + W_g g_t))  R: the recurrent update (h_0 = 0)
    p(y | h_t) = softmax(C(h_t))                       C: the classifier

The partial VAE imagines the glimpses not yet taken: its encoder S (a normalising flow,
:class:`~agents.eig.flow.FlowPosterior`) gives ``q(z | h_t)`` and its decoder D turns a ``z`` into
``f~``, the features ``f`` of every cell of the location grid at once, with a Gaussian likelihood
of learned variance. The grid is the env's discrete location grid
(:func:`glimpse_env.core.actions.discrete_grid`: ``P x P`` patches at stride ``P // 2``, 7x7 cells
on
32x32 images, 6x6 on 28x28), so the lookahead (:mod:`agents.eig.lookahead`) scores exactly the
locations the agent can send through the env API.

Shapes: ``B`` episodes, glimpses ``(B, S*C, P, P)``, locations ``(B, 2)``, hidden ``(B, H)``,
features ``(..., D)``, ``L = G*G`` grid cells, latents ``(..., Z)``, ``n`` classes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from agents.eig.flow import FlowPosterior, standard_normal_log_prob
from glimpse_env.core.actions import discrete_grid

__all__ = ["EIGConfig", "EIGModel", "FeatureDecoder", "GlimpseFeatures", "PartialVAE", "Recurrent"]


@dataclass(frozen=True)
class EIGConfig:
    """Sizes of the model and the geometry of its location grid."""

    glimpse_shape: tuple[int, int, int] = (1, 8, 8)
    """``(S*C, P, P)``: the env's glimpse observation."""
    num_classes: int = 10
    """``n``."""
    canvas_size: int = 28
    """Side of the (square) image the glimpses are taken from."""
    grid_stride: int = 4
    """Pixels between neighbouring cells of the location grid (the paper's ``P // 2``)."""
    cnn_channels: int = 32
    """Channels of F's first convolution (then twice, then four times as many)."""
    feature_size: int = 128
    """``D``: width of the glimpse features ``f`` (and of the decoder's ``f~`` per cell)."""
    hidden_size: int = 256
    """``H``: width of the recurrent state."""
    latent_size: int = 32
    """``Z``: the partial VAE's latent."""
    context_size: int = 32
    """Width of the context the flow's coupling layers are conditioned on."""
    flow_layers: int = 4
    """Affine coupling layers in S."""
    flow_hidden: int = 64
    """Width of each coupling net."""
    decoder_channels: int = 64
    """Channels of D's convolutions over the ``G x G`` grid."""

    @property
    def patch_size(self) -> int:
        return self.glimpse_shape[1]

    def grid(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The candidate locations, ``(L, 2)`` ``(x, y)`` in [-1, 1], row-major cells."""
        return discrete_grid(self.canvas_size, self.patch_size, self.grid_stride, device=device)

    @property
    def grid_size(self) -> int:
        """``G``: cells per side."""
        return (self.canvas_size - self.patch_size) // self.grid_stride + 1

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (lists, not tuples) for checkpoints."""
        out = asdict(self)
        out["glimpse_shape"] = list(self.glimpse_shape)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EIGConfig:
        """The inverse of :meth:`to_dict`; unknown keys raise ValueError."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown EIGConfig field(s) {unknown}")
        data = dict(data)
        if "glimpse_shape" in data:
            data["glimpse_shape"] = tuple(int(v) for v in data["glimpse_shape"])
        return cls(**data)


class GlimpseFeatures(nn.Module):
    """F: ``what`` (a small CNN on the glimpse) and ``where`` (a linear map of the location)."""

    def __init__(self, config: EIGConfig) -> None:
        super().__init__()
        c, d = config.cnn_channels, config.feature_size
        self.what = nn.Sequential(
            nn.Conv2d(config.glimpse_shape[0], c, 3, padding=1),
            nn.LeakyReLU(),
            nn.Conv2d(c, 2 * c, 3, padding=1, stride=2),
            nn.LeakyReLU(),
            nn.Conv2d(2 * c, 4 * c, 3, padding=1, stride=2),
            nn.LeakyReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * c * 4, d),
        )
        self.where = nn.Linear(2, d)
        self.norm = nn.LayerNorm(d)

    def glimpse_features(self, glimpse: torch.Tensor) -> torch.Tensor:
        """``f``: ``(N, S*C, P, P)`` -> ``(N, D)``."""
        return self.what(glimpse)

    def combine(self, features: torch.Tensor, location: torch.Tensor) -> torch.Tensor:
        """``g = LayerNorm(LeakyReLU(f + where(l)))``: ``(..., D)`` and ``(..., 2)`` broadcast."""
        return self.norm(nn.functional.leaky_relu(features + self.where(location)))


class Recurrent(nn.Module):
    """R: ``h_t = LayerNorm(LeakyReLU(W_h h_{t-1} + W_g g_t))`` on the last dim (any batch)."""

    def __init__(self, config: EIGConfig) -> None:
        super().__init__()
        self.w_h = nn.Linear(config.hidden_size, config.hidden_size)
        self.w_g = nn.Linear(config.feature_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, h: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return self.norm(nn.functional.leaky_relu(self.w_h(h) + self.w_g(g)))


class FeatureDecoder(nn.Module):
    """D: ``z (N, Z)`` -> ``f~ (N, L, D)``, the features of every grid cell."""

    def __init__(self, config: EIGConfig) -> None:
        super().__init__()
        self.grid_size = config.grid_size
        c = config.decoder_channels
        self.project = nn.Linear(config.latent_size, c * self.grid_size**2)
        self.convs = nn.Sequential(
            nn.LeakyReLU(),
            nn.Conv2d(c, c, 3, padding=1, padding_mode="replicate"),
            nn.LeakyReLU(),
            nn.Conv2d(c, c, 3, padding=1, padding_mode="replicate"),
            nn.LeakyReLU(),
            nn.Conv2d(c, config.feature_size, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        g = self.grid_size
        maps = self.convs(self.project(z).unflatten(-1, (-1, g, g)))  # (N, D, G, G)
        return maps.flatten(2).transpose(1, 2)  # (N, L, D), cell r*G + c


class PartialVAE(nn.Module):
    """S and D, and the Gaussian likelihood ``N(f | f~, exp(log_var))`` of observed features."""

    def __init__(self, config: EIGConfig) -> None:
        super().__init__()
        self.posterior = FlowPosterior(
            config.hidden_size,
            config.latent_size,
            config.context_size,
            config.flow_layers,
            config.flow_hidden,
        )
        self.decoder = FeatureDecoder(config)
        self.log_var = nn.Parameter(torch.zeros(()))

    def feature_nll(
        self, predicted: torch.Tensor, target: torch.Tensor, observed: torch.Tensor
    ) -> torch.Tensor:
        """``-log N(target | predicted, exp(log_var))`` over the observed cells.

        Args:
            predicted: ``(B, L, D)`` decoded features ``f~``.
            target: ``(B, L, D)`` the true features of every cell.
            observed: ``(B, L)`` bool, the cells whose features count.

        Returns:
            ``(B,)`` summed over the observed cells and the features.
        """
        per_value = 0.5 * (
            (predicted - target).pow(2) / self.log_var.exp() + self.log_var + math.log(2 * math.pi)
        )
        return (per_value.sum(-1) * observed.to(per_value.dtype)).sum(-1)

    def negative_elbo(
        self,
        h: torch.Tensor,
        target: torch.Tensor,
        observed: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One-sample estimate of ``-ELBO = -E_q[log p(f_obs | z)] + KL(q(z | h) || N(0, I))``.

        Args:
            h: ``(B, H)``; target: ``(B, L, D)``; observed: ``(B, L)`` bool.

        Returns:
            ``(nll (B,), kl (B,))``.
        """
        z, log_q = self.posterior.rsample(h, 1, generator)  # (B, 1, Z), (B, 1)
        nll = self.feature_nll(self.decoder(z[:, 0]), target, observed)
        kl = (log_q - standard_normal_log_prob(z))[:, 0]
        return nll, kl


class EIGModel(nn.Module):
    """F, R, C and the partial VAE, with the location grid as a (non-saved) buffer.

    Args:
        config: sizes and grid geometry.
    """

    def __init__(self, config: EIGConfig) -> None:
        super().__init__()
        if config.grid_size < 1:
            raise ValueError(
                f"no location grid: patch {config.patch_size} does not fit canvas "
                f"{config.canvas_size}"
            )
        self.config = config
        self.features = GlimpseFeatures(config)
        self.recurrent = Recurrent(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_classes)
        self.vae = PartialVAE(config)
        self.register_buffer("grid", config.grid(), persistent=False)

    def classification_modules(self) -> list[nn.Module]:
        """F, R and C: trained in phase 1, frozen in phase 2."""
        return [self.features, self.recurrent, self.classifier]

    def initial_state(self, batch: int) -> torch.Tensor:
        """``h_0 = 0``: ``(B, H)``."""
        return torch.zeros(batch, self.config.hidden_size, device=self.grid.device)

    def observe(
        self, glimpse: torch.Tensor, location: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One glimpse ``(B, S*C, P, P)`` at ``(B, 2)``: ``(h_t (B, H), logits (B, n))``."""
        f = self.features.glimpse_features(glimpse)
        h = self.recurrent(h, self.features.combine(f, location))
        return h, self.classifier(h)

    def imagined_logits(self, h: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Class logits after a glimpse of features ``f~`` at every grid cell.

        Args:
            h: ``(B, H)``, the current state.
            features: ``(B, P, L, D)``, imagined features of each cell (``P`` samples).

        Returns:
            ``(B, P, L, n)``: ``C(R(h, F(f~_l, l)))`` for every sample and cell.
        """
        g = self.features.combine(features, self.grid)  # grid (L, 2) broadcasts
        return self.classifier(self.recurrent(h[:, None, None, :], g))
