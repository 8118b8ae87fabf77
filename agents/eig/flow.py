"""The encoder S of the partial VAE: q(z | h_t) as a conditional normalising flow.

A sample is drawn in two moves: a Gaussian base sample ``eps ~ N(mu(h), diag(sigma(h)^2))``, then
``K`` affine coupling layers (RealNVP, Dinh et al. 2017) conditioned on a context vector ``c(h)``
map it to ``z``. By the change of variables, with ``z = T(eps; c)``::

    log q(z | h) = log N(eps; mu, sigma) - log |det dT/deps|

Each coupling layer keeps one half ``a`` of its input and scales and shifts the other half:
``b' = b * exp(s(a, c)) + t(a, c)`` with ``s = tanh(...)`` (bounded), so its Jacobian is
triangular and ``log |det| = sum(s)``; the layers alternate which half they change, and each is
invertible in closed form (:meth:`ConditionalFlow.inverse`), so :meth:`FlowPosterior.log_prob`
evaluates the density of any ``z``. The last linear layer of every coupling net starts at zero:
a fresh flow is the identity.

Shapes: ``N`` rows (any leading batch shape flattened), ``Z`` latent size, ``K`` context size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["AffineCoupling", "ConditionalFlow", "FlowPosterior", "standard_normal_log_prob"]

LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over the last dim: ``(..., Z)`` -> ``(...)``."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


class AffineCoupling(nn.Module):
    """One coupling layer: ``b' = b * exp(s) + t`` with ``(s, t) = net(a, context)``.

    Args:
        latent_size: ``Z``.
        context_size: ``K``.
        hidden: width of the coupling net.
        flip: change the first half (conditioned on the second) instead of the second.
    """

    def __init__(self, latent_size: int, context_size: int, hidden: int, flip: bool) -> None:
        super().__init__()
        if latent_size < 2:
            raise ValueError(f"a coupling flow needs latent_size >= 2, got {latent_size}")
        self.flip = flip
        self.kept = latent_size // 2 if not flip else latent_size - latent_size // 2
        changed = latent_size - self.kept
        self.net = nn.Sequential(
            nn.Linear(self.kept + context_size, hidden),
            nn.LeakyReLU(),
            nn.Linear(hidden, 2 * changed),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(kept, changed)`` halves of ``(N, Z)``."""
        if self.flip:
            changed, kept = x.split([x.shape[-1] - self.kept, self.kept], -1)
        else:
            kept, changed = x.split([self.kept, x.shape[-1] - self.kept], -1)
        return kept, changed

    def _join(self, kept: torch.Tensor, changed: torch.Tensor) -> torch.Tensor:
        return torch.cat([changed, kept] if self.flip else [kept, changed], -1)

    def _scale_shift(
        self, kept: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scale, shift = self.net(torch.cat([kept, context], -1)).chunk(2, -1)
        return torch.tanh(scale), shift

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, Z), (N, K)`` -> ``(y (N, Z), log|det dy/dx| (N,))``."""
        kept, changed = self._split(x)
        scale, shift = self._scale_shift(kept, context)
        return self._join(kept, changed * scale.exp() + shift), scale.sum(-1)

    def inverse(self, y: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, Z), (N, K)`` -> ``(x (N, Z), log|det dx/dy| (N,))``."""
        kept, changed = self._split(y)
        scale, shift = self._scale_shift(kept, context)
        return self._join(kept, (changed - shift) * (-scale).exp()), -scale.sum(-1)


class ConditionalFlow(nn.Module):
    """``K`` coupling layers alternating halves: ``eps -> z`` given a context."""

    def __init__(self, latent_size: int, context_size: int, layers: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            AffineCoupling(latent_size, context_size, hidden, flip=i % 2 == 1)
            for i in range(layers)
        )

    def forward(
        self, eps: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, Z), (N, K)`` -> ``(z (N, Z), log|det dz/deps| (N,))``."""
        log_det = eps.new_zeros(eps.shape[:-1])
        for layer in self.layers:
            eps, step = layer(eps, context)
            log_det = log_det + step
        return eps, log_det

    def inverse(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, Z), (N, K)`` -> ``(eps (N, Z), log|det deps/dz| (N,))``."""
        log_det = z.new_zeros(z.shape[:-1])
        for layer in reversed(self.layers):
            z, step = layer.inverse(z, context)
            log_det = log_det + step
        return z, log_det


class FlowPosterior(nn.Module):
    """S: ``h (B, H)`` -> the distribution ``q(z | h)`` over ``z (Z,)``.

    Args:
        hidden_size: ``H``, the recurrent state's width.
        latent_size: ``Z``.
        context_size: ``K``, the context the coupling layers are conditioned on.
        layers: coupling layers (0: a diagonal Gaussian).
        flow_hidden: width of each coupling net.
    """

    def __init__(
        self, hidden_size: int, latent_size: int, context_size: int, layers: int, flow_hidden: int
    ) -> None:
        super().__init__()
        self.latent_size = latent_size
        self.context_size = context_size
        self.net = nn.Sequential(
            nn.Linear(hidden_size, hidden_size),
            nn.LeakyReLU(),
            nn.LayerNorm(hidden_size),
            nn.Linear(hidden_size, context_size + 2 * latent_size),
        )
        nn.init.zeros_(self.net[-1].bias)
        self.flow = ConditionalFlow(latent_size, context_size, layers, flow_hidden)

    def base(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(mu (B, Z), log_std (B, Z), context (B, K))`` of the base Gaussian and the flow."""
        context, mu, log_std = self.net(h).split(
            [self.context_size, self.latent_size, self.latent_size], -1
        )
        return mu, log_std.clamp(-7.0, 5.0), context

    def rsample(
        self, h: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised samples and their log-density.

        Args:
            h: ``(B, H)``.
            num_samples: ``P`` samples per row.
            generator: RNG of the base noise.

        Returns:
            ``(z (B, P, Z), log q(z | h) (B, P))``.
        """
        mu, log_std, context = self.base(h)
        batch = h.shape[0]
        noise = torch.randn(
            (batch, num_samples, self.latent_size), generator=generator, device=h.device
        ).to(h.dtype)
        eps = mu[:, None] + log_std.exp()[:, None] * noise
        log_q0 = standard_normal_log_prob(noise) - log_std.sum(-1)[:, None]
        z, log_det = self.flow(eps.flatten(0, 1), context.repeat_interleave(num_samples, 0))
        return z.unflatten(0, (batch, num_samples)), log_q0 - log_det.unflatten(
            0, (batch, num_samples)
        )

    def log_prob(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``log q(z | h)`` of given latents ``z (B, P, Z)`` under ``h (B, H)``: ``(B, P)``."""
        mu, log_std, context = self.base(h)
        batch, samples = z.shape[:2]
        eps, log_det = self.flow.inverse(z.flatten(0, 1), context.repeat_interleave(samples, 0))
        eps = eps.unflatten(0, (batch, samples))
        noise = (eps - mu[:, None]) / log_std.exp()[:, None]
        log_q0 = standard_normal_log_prob(noise) - log_std.sum(-1)[:, None]
        return log_q0 + log_det.unflatten(0, (batch, samples))
