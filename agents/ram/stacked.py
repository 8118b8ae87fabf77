"""R independent RAMs in one module, their parameters stacked along a leading run dimension.

Runs trained together share every kernel launch: one batched matmul computes a layer for all
``R`` runs. Each run stays the model it would be alone: run ``r``'s outputs depend only on its
own slice of every parameter, and its weights convert exactly to and from a
:class:`~agents.ram.model.RecurrentAttentionModel` state dict (:meth:`StackedRAM.run_state_dict`,
:func:`stack_state_dicts`), so checkpoints of a stacked run are ordinary RAM checkpoints.

Layout: ``R`` runs of ``B`` episodes; glimpses ``(R, B, D)`` with ``D = S*C*P*P``, locations
``(R, B, 2)``, hidden ``(R, B, H)``. A weight is stored ``(R, in, out)`` (the transpose of
``nn.Linear``'s), so a layer is ``baddbmm(bias, x, weight)``. Where the single model adds two
layers' outputs (``what_out(h_g) + where_out(h_l)``; the core's ``input(g) + recurrent(h)``),
their weights are stored one above the other and applied to the concatenated inputs in one
matmul; their biases stay two parameters (each has its own Adam state in the single model), summed
once per rollout. The first core step skips the recurrent half (the state is zero).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from agents.ram.model import Hidden, RAMConfig, RecurrentAttentionModel

__all__ = ["ParameterSlot", "StackedRAM", "StepWeights", "parameter_slots", "stack_state_dicts"]


@dataclass(frozen=True)
class ParameterSlot:
    """Where one parameter of the single model lives in the stack.

    Attributes:
        stacked: the stacked parameter's name.
        rows: the rows of its ``in`` dimension that hold this weight; None for all of them.
        transpose: the single model's tensor is the transpose of the stacked slice (weights).
    """

    stacked: str
    rows: slice | None = None
    transpose: bool = False


def parameter_slots(config: RAMConfig) -> dict[str, ParameterSlot]:
    """The single model's parameter names (in ``named_parameters`` order) -> their slots."""
    what, where = config.glimpse_hidden, config.location_hidden
    features, hidden = config.glimpse_features, config.hidden_size

    def weight(name: str, rows: slice | None = None) -> ParameterSlot:
        return ParameterSlot(name, rows, transpose=True)

    core_input = weight("core_weight", slice(0, features))
    core_recurrent = weight("core_weight", slice(features, features + hidden))
    input_bias, recurrent_bias = (
        ParameterSlot("core_input_bias"),
        ParameterSlot("core_recurrent_bias"),
    )
    if config.core == "rnn":
        core = {
            "core.input.weight": core_input,
            "core.input.bias": input_bias,
            "core.recurrent.weight": core_recurrent,
            "core.recurrent.bias": recurrent_bias,
        }
    else:  # nn.LSTMCell's order
        core = {
            "core.cell.weight_ih": core_input,
            "core.cell.weight_hh": core_recurrent,
            "core.cell.bias_ih": input_bias,
            "core.cell.bias_hh": recurrent_bias,
        }
    return {
        "glimpse_net.what.weight": weight("what_weight"),
        "glimpse_net.what.bias": ParameterSlot("what_bias"),
        "glimpse_net.where.weight": weight("where_weight"),
        "glimpse_net.where.bias": ParameterSlot("where_bias"),
        "glimpse_net.what_out.weight": weight("glimpse_out_weight", slice(0, what)),
        "glimpse_net.what_out.bias": ParameterSlot("what_out_bias"),
        "glimpse_net.where_out.weight": weight("glimpse_out_weight", slice(what, what + where)),
        "glimpse_net.where_out.bias": ParameterSlot("where_out_bias"),
        **core,
        "location_net.weight": weight("location_weight"),
        "location_net.bias": ParameterSlot("location_bias"),
        "baseline_net.weight": weight("baseline_weight"),
        "baseline_net.bias": ParameterSlot("baseline_bias"),
        "classifier.weight": weight("classifier_weight"),
        "classifier.bias": ParameterSlot("classifier_bias"),
    }


def stack_state_dicts(
    config: RAMConfig, state_dicts: Sequence[Mapping[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Stack per-run tensors keyed like the single model's parameters (weights, or any tensors
    of their shapes such as Adam's moments) into the stacked layout: name -> ``(R, ...)``."""
    slots = parameter_slots(config)
    missing = [sorted(set(slots) - set(sd)) for sd in state_dicts]
    if any(missing):
        raise ValueError(f"state dicts lack the RAM parameters {missing}")
    pieces: dict[str, list[tuple[int, str]]] = {}
    for name, slot in slots.items():
        start = slot.rows.start if slot.rows is not None else 0
        pieces.setdefault(slot.stacked, []).append((start, name))
    stacked = {}
    for target, names in pieces.items():
        per_run = []
        for sd in state_dicts:
            parts = [sd[n].T if slots[n].transpose else sd[n] for _, n in sorted(names)]
            per_run.append(torch.cat(parts) if len(parts) > 1 else parts[0])
        stacked[target] = torch.stack(per_run)
    return stacked


def unstack_run(
    config: RAMConfig, stacked: Mapping[str, torch.Tensor], run: int
) -> dict[str, torch.Tensor]:
    """Run ``run``'s tensors keyed like the single model's parameters (contiguous copies)."""
    out = {}
    for name, slot in parameter_slots(config).items():
        tensor = stacked[slot.stacked][run]
        if slot.rows is not None:
            tensor = tensor[slot.rows]
        out[name] = (
            (tensor.T if slot.transpose else tensor)
            .detach()
            .clone(memory_format=torch.contiguous_format)
        )
    return out


@dataclass(frozen=True)
class StepWeights:
    """What one rollout derives from the parameters once, not at every step.

    Attributes:
        glimpse_out_bias: ``(R, 1, G)`` ``what_out.bias + where_out.bias``.
        core_bias: ``(R, 1, H)`` (``(R, 1, 4H)`` for the LSTM) the core's two biases summed.
        core_input_weight: ``(R, G, H)`` the input half of the core's weight (first step).
    """

    glimpse_out_bias: torch.Tensor
    core_bias: torch.Tensor
    core_input_weight: torch.Tensor


class StackedRAM(nn.Module):
    """``R`` recurrent attention models of one :class:`RAMConfig`, stepped together.

    Args:
        config: the runs' shared sizes.
        num_runs: ``R``.

    The parameters start at zero: build from trained or freshly initialised single models with
    :meth:`from_models`, or load them with :meth:`load_run_state_dicts`.
    """

    def __init__(self, config: RAMConfig, num_runs: int) -> None:
        super().__init__()
        if num_runs < 1:
            raise ValueError(f"num_runs must be >= 1, got {num_runs}")
        self.config = config
        self.num_runs = num_runs
        glimpse_size = math.prod(config.glimpse_shape)
        what, where = config.glimpse_hidden, config.location_hidden
        features, hidden = config.glimpse_features, config.hidden_size
        gates = hidden if config.core == "rnn" else 4 * hidden
        if config.core not in ("rnn", "lstm"):
            raise ValueError(f"core must be 'rnn' or 'lstm', got {config.core!r}")
        shapes = {
            "what_weight": (glimpse_size, what),
            "what_bias": (what,),
            "where_weight": (2, where),
            "where_bias": (where,),
            "glimpse_out_weight": (what + where, features),
            "what_out_bias": (features,),
            "where_out_bias": (features,),
            "core_weight": (features + hidden, gates),
            "core_input_bias": (gates,),
            "core_recurrent_bias": (gates,),
            "location_weight": (hidden, 2),
            "location_bias": (2,),
            "baseline_weight": (hidden, 1),
            "baseline_bias": (1,),
            "classifier_weight": (hidden, config.num_classes),
            "classifier_bias": (config.num_classes,),
        }
        for name, shape in shapes.items():
            self.register_parameter(name, nn.Parameter(torch.zeros(num_runs, *shape)))

    # ----------------------------------------------------------------- conversions

    @classmethod
    def from_models(cls, models: Sequence[RecurrentAttentionModel]) -> StackedRAM:
        """Stack single models of one config (their weights are copied)."""
        configs = {m.config for m in models}
        if len(configs) != 1:
            raise ValueError(f"models to stack must share one RAMConfig, got {len(configs)}")
        stacked = cls(models[0].config, len(models))
        stacked.load_run_state_dicts([m.state_dict() for m in models])
        return stacked.to(models[0].classifier.weight.device)

    def load_run_state_dicts(self, state_dicts: Sequence[Mapping[str, torch.Tensor]]) -> None:
        """Set every run's weights from single-model state dicts (one per run)."""
        if len(state_dicts) != self.num_runs:
            raise ValueError(f"expected {self.num_runs} state dicts, got {len(state_dicts)}")
        stacked = stack_state_dicts(self.config, state_dicts)
        with torch.no_grad():
            for name, tensor in stacked.items():
                getattr(self, name).copy_(tensor)

    def run_state_dict(self, run: int) -> dict[str, torch.Tensor]:
        """Run ``run``'s weights as a :class:`RecurrentAttentionModel` state dict (copies)."""
        return unstack_run(self.config, dict(self.named_parameters()), run)

    def run_model(self, run: int) -> RecurrentAttentionModel:
        """Run ``run`` as a single model (a copy, on this module's device)."""
        model = RecurrentAttentionModel(self.config)
        model.load_state_dict(self.run_state_dict(run))
        return model.to(self.classifier_weight.device)

    # ----------------------------------------------------------------- the forward pass

    def step_weights(self) -> StepWeights:
        """Derive the per-rollout weights (call once per rollout, inside the autograd graph)."""
        return StepWeights(
            glimpse_out_bias=(self.what_out_bias + self.where_out_bias)[:, None],
            core_bias=(self.core_input_bias + self.core_recurrent_bias)[:, None],
            core_input_weight=self.core_weight[:, : self.config.glimpse_features],
        )

    def initial_state(self, batch: int) -> Hidden:
        """Zeros: ``(h,)`` or ``(h, c)``, each ``(R, B, H)``."""
        zeros = self.classifier_weight.new_zeros(self.num_runs, batch, self.config.hidden_size)
        return (zeros,) if self.config.core == "rnn" else (zeros, zeros.clone())

    def core_step(
        self,
        weights: StepWeights,
        glimpse: torch.Tensor,
        location: torch.Tensor,
        hidden: Hidden | None,
    ) -> Hidden:
        """One glimpse through the glimpse and core networks.

        Args:
            weights: from :meth:`step_weights`.
            glimpse: ``(R, B, D)`` (or ``(R, B, S*C, P, P)``).
            location: ``(R, B, 2)`` where it was taken.
            hidden: the state, ``(R, B, H)`` tensors; None for the zero state (the first step).

        Returns:
            The new state.
        """
        h_what = torch.relu(
            torch.baddbmm(self.what_bias[:, None], glimpse.flatten(2), self.what_weight)
        )
        h_where = torch.relu(torch.baddbmm(self.where_bias[:, None], location, self.where_weight))
        g = torch.relu(
            torch.baddbmm(
                weights.glimpse_out_bias, torch.cat([h_what, h_where], -1), self.glimpse_out_weight
            )
        )
        if hidden is None:
            gates = torch.baddbmm(weights.core_bias, g, weights.core_input_weight)
        else:
            gates = torch.baddbmm(
                weights.core_bias, torch.cat([g, hidden[0]], -1), self.core_weight
            )
        if self.config.core == "rnn":
            return (torch.relu(gates),)
        i, f, g_cell, o = gates.chunk(4, -1)
        cell = torch.sigmoid(i) * torch.tanh(g_cell)
        if hidden is not None:
            cell = torch.sigmoid(f) * hidden[1] + cell
        return (torch.sigmoid(o) * torch.tanh(cell), cell)

    def location_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``(R, B, 2)`` the policy's mean from ``h (R, B, H)`` (detached unless REINFORCE may
        reach the core)."""
        h_policy = h if self.config.reinforce_to_core else h.detach()
        return torch.tanh(
            torch.baddbmm(self.location_bias[:, None], h_policy, self.location_weight)
        )

    def heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The class logits and the baseline of states ``h (R, N, H)``: ``(R, N, n)``, ``(R, N)``.

        The baseline reads ``h`` detached (it learns from its own loss only), as in the single
        model.
        """
        logits = torch.baddbmm(self.classifier_bias[:, None], h, self.classifier_weight)
        baseline = torch.baddbmm(self.baseline_bias[:, None], h.detach(), self.baseline_weight)
        return logits, baseline.squeeze(-1)
