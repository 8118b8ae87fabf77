"""The recurrent attention model (Mnih et al. 2014): glimpse, core, location, baseline, classifier.

One step of the model reads the glimpse the env returned and where it was taken, updates the
recurrent state, and produces the three outputs the trainer needs::

    h_g = ReLU(Linear(glimpse))          what
    h_l = ReLU(Linear(location))         where
    g   = ReLU(Linear(h_g) + Linear(h_l))
    h   = ReLU(Linear(h_prev) + Linear(g))   (the paper's core; an LSTM cell as an option)
    location mean = tanh(Linear(h))      Gaussian policy with a fixed std
    baseline      = Linear(h)            the learned baseline of REINFORCE
    logits        = Linear(h)            the class belief

Shapes: ``B`` episodes, glimpses ``(B, S*C, P, P)``, locations ``(B, 2)``, hidden ``(B, H)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

__all__ = ["RAMConfig", "RAMOutput", "RecurrentAttentionModel", "gaussian_location"]

Hidden = tuple[torch.Tensor, ...]
"""The recurrent state: ``(h,)`` for the ReLU RNN, ``(h, c)`` for the LSTM, each ``(B, H)``."""


@dataclass(frozen=True)
class RAMConfig:
    """The model's sizes (defaults: the paper's) and its policy's std."""

    glimpse_shape: tuple[int, int, int] = (1, 8, 8)
    """``(S*C, P, P)``: the env's glimpse observation."""
    num_classes: int = 10
    """``n``: the number of classes."""
    glimpse_hidden: int = 128
    """Width of h_g (the 'what' pathway)."""
    location_hidden: int = 128
    """Width of h_l (the 'where' pathway)."""
    glimpse_features: int = 256
    """Width of g, the glimpse network's output."""
    hidden_size: int = 256
    """Width of the core network's state h."""
    core: Literal["rnn", "lstm"] = "rnn"
    """The core network: 'rnn' (the paper's ReLU RNN) or 'lstm'."""
    location_std: float = 0.1
    """Fixed std of the Gaussian location policy, in units of the [-1, 1] location range."""
    reinforce_to_core: bool = False
    """Let REINFORCE reach the core and glimpse networks (the paper's); False feeds the location
    head h.detach(), so REINFORCE trains the location head alone (the common reimplementations')."""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (lists, not tuples) for checkpoints."""
        out = asdict(self)
        out["glimpse_shape"] = list(self.glimpse_shape)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RAMConfig:
        """The inverse of :meth:`to_dict`; unknown keys raise ValueError."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown RAMConfig field(s) {unknown}; known: {sorted(known)}")
        data = dict(data)
        if "glimpse_shape" in data:
            data["glimpse_shape"] = tuple(int(v) for v in data["glimpse_shape"])
        return cls(**data)


@dataclass(frozen=True)
class RAMOutput:
    """What one model step produces (``(B, ...)`` tensors).

    Attributes:
        hidden: the new recurrent state.
        location_mean: ``(B, 2)`` mean of the next-location policy, in ``[-1, 1]``.
        baseline: ``(B,)`` the baseline's estimate of the return to come.
        logits: ``(B, n)`` the class belief.
    """

    hidden: Hidden
    location_mean: torch.Tensor
    baseline: torch.Tensor
    logits: torch.Tensor


class GlimpseNetwork(nn.Module):
    """``g = ReLU(Linear(ReLU(Linear(glimpse))) + Linear(ReLU(Linear(location))))``: ``(B, G)``."""

    def __init__(self, config: RAMConfig) -> None:
        super().__init__()
        glimpse_size = config.glimpse_shape[0] * config.glimpse_shape[1] * config.glimpse_shape[2]
        self.what = nn.Linear(glimpse_size, config.glimpse_hidden)
        self.where = nn.Linear(2, config.location_hidden)
        self.what_out = nn.Linear(config.glimpse_hidden, config.glimpse_features)
        self.where_out = nn.Linear(config.location_hidden, config.glimpse_features)

    def forward(self, glimpse: torch.Tensor, location: torch.Tensor) -> torch.Tensor:
        h_g = torch.relu(self.what(glimpse.flatten(1)))
        h_l = torch.relu(self.where(location))
        return torch.relu(self.what_out(h_g) + self.where_out(h_l))


class CoreNetwork(nn.Module):
    """The recurrent core: ``h = ReLU(Linear(h_prev) + Linear(g))``, or an LSTM cell."""

    def __init__(self, config: RAMConfig) -> None:
        super().__init__()
        self.kind = config.core
        self.hidden_size = config.hidden_size
        if config.core == "rnn":
            self.input = nn.Linear(config.glimpse_features, config.hidden_size)
            self.recurrent = nn.Linear(config.hidden_size, config.hidden_size)
        elif config.core == "lstm":
            self.cell = nn.LSTMCell(config.glimpse_features, config.hidden_size)
        else:
            raise ValueError(f"core must be 'rnn' or 'lstm', got {config.core!r}")

    def initial_state(self, batch: int, device: torch.device | str) -> Hidden:
        zeros = torch.zeros(batch, self.hidden_size, device=device)
        return (zeros,) if self.kind == "rnn" else (zeros, zeros.clone())

    def forward(self, g: torch.Tensor, hidden: Hidden) -> Hidden:
        if self.kind == "rnn":
            return (torch.relu(self.input(g) + self.recurrent(hidden[0])),)
        h, c = self.cell(g, (hidden[0], hidden[1]))
        return (h, c)


class RecurrentAttentionModel(nn.Module):
    """The whole RAM: :meth:`step` is one glimpse; the trainer and the agent loop over it.

    Args:
        config: sizes, the policy's std and where REINFORCE's gradient may go.
    """

    def __init__(self, config: RAMConfig) -> None:
        super().__init__()
        self.config = config
        self.glimpse_net = GlimpseNetwork(config)
        self.core = CoreNetwork(config)
        self.location_net = nn.Linear(config.hidden_size, 2)
        self.baseline_net = nn.Linear(config.hidden_size, 1)
        self.classifier = nn.Linear(config.hidden_size, config.num_classes)

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> Hidden:
        """Zeros: ``(h,)`` or ``(h, c)``, each ``(B, H)``."""
        if device is None:
            device = self.classifier.weight.device
        return self.core.initial_state(batch, device)

    def step(self, glimpse: torch.Tensor, location: torch.Tensor, hidden: Hidden) -> RAMOutput:
        """One glimpse: ``glimpse (B, S*C, P, P)`` seen at ``location (B, 2)``, then the heads."""
        hidden = self.core(self.glimpse_net(glimpse, location), hidden)
        h = hidden[0]
        h_policy = h if self.config.reinforce_to_core else h.detach()
        return RAMOutput(
            hidden=hidden,
            location_mean=torch.tanh(self.location_net(h_policy)),
            baseline=self.baseline_net(h.detach()).squeeze(-1),
            logits=self.classifier(h),
        )

    def location_distribution(self, mean: torch.Tensor) -> torch.distributions.Normal:
        """The Gaussian policy around ``mean (B, 2)`` with the fixed std."""
        return torch.distributions.Normal(mean, self.config.location_std, validate_args=False)

    def sample_location(
        self, mean: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample the next location: ``(location (B, 2) clipped to [-1, 1], log_prob (B,))``.

        The sample is drawn without gradient (it is an action), so only ``log_prob`` carries a
        gradient to the location head: cross-entropy cannot reach the policy's mean through the
        sampled location. ``log_prob`` is of the unclipped sample.
        """
        noise = torch.randn(mean.shape, generator=generator, device=mean.device)
        return gaussian_location(mean, noise, self.config.location_std)


def gaussian_location(
    mean: torch.Tensor, noise: torch.Tensor, std: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean + std * noise`` as an action, and its log-probability under ``N(mean, std)``.

    Args:
        mean: ``(..., 2)`` the policy's mean location.
        noise: ``(..., 2)`` standard normal draws.
        std: the policy's fixed std.

    Returns:
        ``(location (..., 2) clipped to [-1, 1], log_prob (...,))``: the sample carries no
        gradient; ``log_prob`` (of the unclipped sample) does, to ``mean``. No argument checks
        run on tensor values, so nothing waits for the device.
    """
    sample = (mean + std * noise).detach()
    distribution = torch.distributions.Normal(mean, std, validate_args=False)
    return sample.clamp(-1.0, 1.0), distribution.log_prob(sample).sum(-1)
