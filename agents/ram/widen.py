"""Widen a trained RAM's core without changing what it computes (Net2WiderNet).

A wider core learns more, but a wide RAM trained from scratch needs the whole schedule again.
Chen et al. ("Net2Net", ICLR 2016) widen a trained layer so that the wider network computes the
same function: every new unit is a copy of an old one (same incoming weights), and the outgoing
weights of each old unit are shared out among its copies so that their sum is the old weight.
Training then continues from the trained model's error, with room to go further.

Here the core's state ``h`` (and the LSTM's cell ``c``) goes from ``H`` to ``H' >= H`` units:

- unit ``k < H`` keeps its weights; unit ``k >= H`` copies unit ``(k - H) mod H``;
- the rows of the core's input and recurrent weights (per gate, for the LSTM) are copied;
- every weight that reads ``h`` (the core's recurrent weight, the location, baseline and class
  heads) is split among the copies of a unit in random shares that sum to one. The random
  shares keep the function exact and break the copies' symmetry: equal shares would give the
  copies equal gradients forever.

Usage::

    python -m agents.ram.widen --checkpoint runs/c60/last.pt --hidden-size 512 --out wide.pt
    glimpse-env train ram ... --core lstm --hidden-size 512 --init-from wide.pt

Example:
    >>> import torch
    >>> from agents.ram.model import RAMConfig, RecurrentAttentionModel
    >>> from agents.ram.widen import widen_core
    >>> torch.manual_seed(0) and None
    >>> model = RecurrentAttentionModel(RAMConfig(core="lstm", hidden_size=16))
    >>> wide = widen_core(model, 40, torch.Generator().manual_seed(1))
    >>> wide.config.hidden_size
    40
    >>> glimpse, location = torch.rand(3, 1, 8, 8), torch.rand(3, 2) * 2 - 1
    >>> narrow_out = model.step(glimpse, location, model.initial_state(3))
    >>> wide_out = wide.step(glimpse, location, wide.initial_state(3))
    >>> torch.allclose(narrow_out.logits, wide_out.logits, atol=1e-5)
    True
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from agents.ram.checkpoint import load_checkpoint, load_model, save_checkpoint
from agents.ram.model import RecurrentAttentionModel

__all__ = ["main", "widen_core"]


def _copies(
    old: int, new: int, generator: torch.Generator, noise: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which old unit each new unit copies, and its share of that unit's outgoing weights.

    Returns:
        ``(source (H',) long, share (H',) float)``: ``source[k]`` is the old unit new unit ``k``
        copies; the shares of the copies of one old unit sum to one.
    """
    source = torch.arange(new) % old
    raw = 1.0 + noise * (2.0 * torch.rand(new, generator=generator) - 1.0)
    total = torch.zeros(old).index_add_(0, source, raw)
    return source, raw / total[source]


def _rows(weight: torch.Tensor, source: torch.Tensor, gates: int) -> torch.Tensor:
    """Copy the rows of ``weight (gates*H, ...)`` gate by gate: ``(gates*H', ...)``."""
    old = weight.shape[0] // gates
    blocks = weight.reshape(gates, old, *weight.shape[1:])
    return blocks[:, source].reshape(gates * len(source), *weight.shape[1:])


def _columns(weight: torch.Tensor, source: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """Split the columns of ``weight (out, H)`` among the copies: ``(out, H')``."""
    return weight[:, source] * share


def widen_core(
    model: RecurrentAttentionModel,
    hidden_size: int,
    generator: torch.Generator | None = None,
    noise: float = 0.5,
) -> RecurrentAttentionModel:
    """A copy of ``model`` whose core has ``hidden_size`` units and computes the same function.

    Args:
        model: a RAM with a core of ``H`` units (ReLU RNN or LSTM).
        hidden_size: ``H' >= H``.
        generator: draws the shares of the copies (seeded runs widen the same way).
        noise: how unequal the shares are: each copy's raw share is drawn from
            ``[1 - noise, 1 + noise]`` before the shares of one unit are normalised to sum to one.

    Returns:
        A new model (``model`` is left as it was): same glimpse network, a core of
        ``hidden_size`` units, heads reading the wider state; its outputs equal ``model``'s up to
        float rounding.

    Raises:
        ValueError: ``hidden_size`` below the model's, or ``noise`` outside ``[0, 1)``.
    """
    old = model.config.hidden_size
    if hidden_size < old:
        raise ValueError(f"hidden_size must be at least the model's {old}, got {hidden_size}")
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1), got {noise}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    source, share = _copies(old, hidden_size, generator, noise)
    wide = RecurrentAttentionModel(dataclasses.replace(model.config, hidden_size=hidden_size))
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    if model.config.core == "lstm":
        for name in ("weight_ih", "bias_ih", "bias_hh"):
            state[f"core.cell.{name}"] = _rows(state[f"core.cell.{name}"], source, 4)
        recurrent = _rows(state["core.cell.weight_hh"], source, 4)
        state["core.cell.weight_hh"] = _columns(recurrent, source, share)
    else:
        for name in ("input.weight", "input.bias", "recurrent.bias"):
            state[f"core.{name}"] = _rows(state[f"core.{name}"], source, 1)
        recurrent = _rows(state["core.recurrent.weight"], source, 1)
        state["core.recurrent.weight"] = _columns(recurrent, source, share)
    for head in ("location_net", "baseline_net", "classifier"):
        state[f"{head}.weight"] = _columns(state[f"{head}.weight"], source, share)
    wide.load_state_dict(state)
    return wide


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.ram.widen``: write a widened copy of a RAM checkpoint."""
    parser = argparse.ArgumentParser(
        prog="python -m agents.ram.widen",
        description="Widen a trained RAM's core (Net2WiderNet): the same function, more units. "
        "Train on with `glimpse-env train ram --hidden-size H --init-from OUT`.",
    )
    parser.add_argument("--checkpoint", required=True, help="A RAM checkpoint (last.pt, best.pt).")
    parser.add_argument("--hidden-size", type=int, required=True, help="The core's new width.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the copies' shares.")
    parser.add_argument("--out", required=True, help="Where to write the widened checkpoint.")
    args = parser.parse_args(argv)
    saved = load_checkpoint(args.checkpoint)
    model = load_model(saved, source=args.checkpoint)
    try:
        wide = widen_core(model, args.hidden_size, torch.Generator().manual_seed(args.seed))
    except ValueError as err:
        parser.error(str(err))
    payload = {key: saved[key] for key in ("env_id", "env_kwargs") if key in saved} | {
        "model_config": wide.config.to_dict(),
        "model": wide.state_dict(),
        "epoch": 0,
        "widened_from": str(args.checkpoint),
    }
    save_checkpoint(Path(args.out), payload)
    print(
        f"widened {args.checkpoint}: core {model.config.hidden_size} -> {args.hidden_size} units "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
