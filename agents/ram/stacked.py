"""R recurrent attention models of one config stepped together, as batched matmuls.

Runs trained together share every kernel launch: one batched matmul computes a layer for all
``R`` runs. Each run stays its own :class:`~agents.ram.model.RecurrentAttentionModel` with its
own parameters (and its own optimiser, checkpoint and seed); :class:`StackedRAM` only arranges
their weights, once per rollout and inside the autograd graph, into the stacked layout below,
so the gradient of run ``r``'s loss flows back into run ``r``'s parameters alone. One run
(``R = 1``) is a view of the model's own tensors (no copy but two small concatenations).

Layout: ``R`` runs of ``B`` episodes; glimpses ``(R, B, D)`` with ``D = S*C*P*P``, locations
``(R, B, 2)``, hidden ``(R, B, H)``. A weight is arranged ``(R, in, out)`` (the transpose of
``nn.Linear``'s), so a layer is ``baddbmm(bias, x, weight)``. Where the model adds two layers'
outputs (``what_out(h_g) + where_out(h_l)``; the core's ``input(g) + recurrent(h)``), their
weights are stacked along ``in`` and applied to the concatenated inputs in one matmul, and their
biases summed. The first core step skips the recurrent half (the state is zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from agents.ram.model import Hidden, RAMConfig, RecurrentAttentionModel

__all__ = ["StackedRAM", "StackedWeights"]


@dataclass(frozen=True)
class StackedWeights:
    """The runs' weights in the stacked layout (``(R, in, out)`` weights, ``(R, 1, out)``
    biases): what a rollout derives from the parameters once, not at every step."""

    what_weight: torch.Tensor
    what_bias: torch.Tensor
    where_weight: torch.Tensor
    where_bias: torch.Tensor
    glimpse_out_weight: torch.Tensor
    """``(R, Gh + Lh, G)``: ``what_out`` above ``where_out``."""
    glimpse_out_bias: torch.Tensor
    """``(R, 1, G)``: ``what_out.bias + where_out.bias``."""
    core_weight: torch.Tensor
    """``(R, G + H, H)`` (``4H`` for the LSTM): the input weight above the recurrent one."""
    core_input_weight: torch.Tensor
    """``(R, G, H)``: the input weight alone (the first step, when the state is zero)."""
    core_bias: torch.Tensor
    """``(R, 1, H)``: the input and recurrent biases summed."""
    location_weight: torch.Tensor
    location_bias: torch.Tensor
    baseline_weight: torch.Tensor
    baseline_bias: torch.Tensor
    classifier_weight: torch.Tensor
    classifier_bias: torch.Tensor


def _stack(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``(R, ...)`` from ``R`` tensors; a view (no copy) for one."""
    return tensors[0][None] if len(tensors) == 1 else torch.stack(list(tensors))


class StackedRAM:
    """``R`` models of one :class:`RAMConfig`, stepped together.

    Args:
        models: the runs' models (on one device); they are read, never copied or changed.
    """

    def __init__(self, models: Sequence[RecurrentAttentionModel]) -> None:
        if not models:
            raise ValueError("StackedRAM needs at least one model")
        configs = {m.config for m in models}
        if len(configs) != 1:
            raise ValueError(
                f"models stepped together must share one RAMConfig, got {len(configs)} configs"
            )
        self.models = list(models)
        self.config: RAMConfig = models[0].config
        self.num_runs = len(models)

    def weights(self) -> StackedWeights:
        """The stacked weights (call once per rollout: the gradient flows back through them)."""
        nets = [m.glimpse_net for m in self.models]
        cores = [m.core for m in self.models]
        if self.config.core == "rnn":
            inputs = [(c.input.weight, c.input.bias) for c in cores]
            recurrents = [(c.recurrent.weight, c.recurrent.bias) for c in cores]
        else:
            inputs = [(c.cell.weight_ih, c.cell.bias_ih) for c in cores]
            recurrents = [(c.cell.weight_hh, c.cell.bias_hh) for c in cores]

        def weight(layers: Sequence[torch.nn.Linear]) -> torch.Tensor:
            return _stack([layer.weight.T for layer in layers])

        def bias(layers: Sequence[torch.nn.Linear]) -> torch.Tensor:
            return _stack([layer.bias for layer in layers])[:, None]

        return StackedWeights(
            what_weight=weight([n.what for n in nets]),
            what_bias=bias([n.what for n in nets]),
            where_weight=weight([n.where for n in nets]),
            where_bias=bias([n.where for n in nets]),
            glimpse_out_weight=_stack(
                [torch.cat([n.what_out.weight, n.where_out.weight], 1).T for n in nets]
            ),
            glimpse_out_bias=_stack([n.what_out.bias + n.where_out.bias for n in nets])[:, None],
            core_weight=_stack(
                [torch.cat([i[0], r[0]], 1).T for i, r in zip(inputs, recurrents, strict=True)]
            ),
            core_input_weight=_stack([i[0].T for i in inputs]),
            core_bias=_stack([i[1] + r[1] for i, r in zip(inputs, recurrents, strict=True)])[
                :, None
            ],
            location_weight=weight([m.location_net for m in self.models]),
            location_bias=bias([m.location_net for m in self.models]),
            baseline_weight=weight([m.baseline_net for m in self.models]),
            baseline_bias=bias([m.baseline_net for m in self.models]),
            classifier_weight=weight([m.classifier for m in self.models]),
            classifier_bias=bias([m.classifier for m in self.models]),
        )

    def core_step(
        self,
        weights: StackedWeights,
        glimpse: torch.Tensor,
        location: torch.Tensor,
        hidden: Hidden | None,
    ) -> Hidden:
        """One glimpse through the glimpse and core networks.

        Args:
            weights: from :meth:`weights`.
            glimpse: ``(R, B, D)`` (or ``(R, B, S*C, P, P)``).
            location: ``(R, B, 2)`` where it was taken.
            hidden: the state, ``(R, B, H)`` tensors; None for the zero state (the first step).

        Returns:
            The new state: ``(h,)`` or ``(h, c)``.
        """
        w = weights
        h_what = torch.relu(torch.baddbmm(w.what_bias, glimpse.flatten(2), w.what_weight))
        h_where = torch.relu(torch.baddbmm(w.where_bias, location, w.where_weight))
        g = torch.cat([h_what, h_where], -1)
        g = torch.relu(torch.baddbmm(w.glimpse_out_bias, g, w.glimpse_out_weight))
        if hidden is None:
            gates = torch.baddbmm(w.core_bias, g, w.core_input_weight)
        else:
            gates = torch.baddbmm(w.core_bias, torch.cat([g, hidden[0]], -1), w.core_weight)
        if self.config.core == "rnn":
            return (torch.relu(gates),)
        i, f, g_cell, o = gates.chunk(4, -1)  # nn.LSTMCell's order
        cell = torch.sigmoid(i) * torch.tanh(g_cell)
        if hidden is not None:
            cell = torch.sigmoid(f) * hidden[1] + cell
        return (torch.sigmoid(o) * torch.tanh(cell), cell)

    def location_mean(self, weights: StackedWeights, h: torch.Tensor) -> torch.Tensor:
        """``(R, B, 2)`` the policy's mean from ``h (R, B, H)`` (read detached unless
        REINFORCE may reach the core, as in the model)."""
        h_policy = h if self.config.reinforce_to_core else h.detach()
        return torch.tanh(torch.baddbmm(weights.location_bias, h_policy, weights.location_weight))

    def heads(self, weights: StackedWeights, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The class logits and the baseline of states ``h (R, N, H)``: ``(R, N, n)``, ``(R, N)``.

        The baseline reads ``h`` detached (it learns from its own loss only), as in the model.
        """
        w = weights
        logits = torch.baddbmm(w.classifier_bias, h, w.classifier_weight)
        # One output: a product and a sum per row, not a matmul, whose kernel for a single
        # column differs between one run and several (a run would not sum as it does alone).
        baseline = (h.detach() * w.baseline_weight.transpose(1, 2)).sum(-1) + w.baseline_bias[
            ..., 0
        ]
        return logits, baseline
