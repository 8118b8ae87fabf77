"""Adam with the run's learning-rate rule: batch scaling, per-step warm-up, per-epoch schedule.

- Scaling: ``lr = learning_rate * (batch_size / lr_reference_batch)`` (``linear``, Goyal et al.
  2017) or its square root (``sqrt``, the rule often used with Adam), the usual ways to keep a
  larger batch about as sample-efficient as the reference one (which suits RAM is for the
  large-batch runs to measure); ``none`` leaves ``learning_rate`` as given.
- Warm-up: for the first ``lr_warmup`` gradient steps the step's learning rate is the
  schedule's times ``(step + 1) / lr_warmup``. It depends only on the global step number, so a
  resumed run warms up exactly as an uninterrupted one.
- Schedule: cosine annealing over the epochs, or constant, stepped once per epoch (the
  schedulers' state is what ``last.pt`` keeps, as before the warm-up existed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from agents.harness.args import TrainArgs

__all__ = ["Optimization", "scaled_learning_rate"]


def scaled_learning_rate(args: TrainArgs) -> float:
    """``args.learning_rate`` scaled by ``args.lr_scaling`` for ``args.batch_size``.

    >>> scaled_learning_rate(TrainArgs(learning_rate=1e-3, batch_size=512, lr_scaling="linear"))
    0.004
    >>> scaled_learning_rate(TrainArgs(learning_rate=1e-3, batch_size=512, lr_scaling="sqrt"))
    0.002
    """
    ratio = args.batch_size / args.lr_reference_batch
    factor = {"none": 1.0, "linear": ratio, "sqrt": math.sqrt(ratio)}[args.lr_scaling]
    return args.learning_rate * factor


class Optimization:
    """The optimiser of a run and its learning-rate rule, from the run's :class:`TrainArgs`.

    Args:
        parameters: what the optimiser trains.
        args: the run's arguments (learning rate, scaling, warm-up, schedule, clipping).
    """

    def __init__(self, parameters: Iterable[nn.Parameter], args: TrainArgs) -> None:
        self.parameters = list(parameters)
        self.max_grad_norm = args.max_grad_norm
        self.warmup = args.lr_warmup
        self.optimizer = torch.optim.Adam(self.parameters, lr=scaled_learning_rate(args))
        if args.lr_schedule == "cosine":
            self.scheduler: Any = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.optimizer, T_max=args.epochs
            )
        else:
            self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=1, gamma=1.0)

    @property
    def learning_rate(self) -> float:
        """The schedule's learning rate of this epoch (before any warm-up factor)."""
        return self.scheduler.get_last_lr()[0]

    def step(self, loss: torch.Tensor, global_step: int) -> None:
        """One gradient step on ``loss`` (a scalar); ``global_step`` counts from 0 over the run."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.apply(global_step)

    def apply(self, global_step: int) -> None:
        """The step on the gradients already in the parameters: clipping, warm-up, Adam.

        Runs trained together (:mod:`agents.ram.multirun`) call one backward for all, then
        each run's ``apply``.
        """
        if self.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.max_grad_norm)
        if global_step >= self.warmup:
            self.optimizer.step()
            return
        scheduled = [group["lr"] for group in self.optimizer.param_groups]
        for group in self.optimizer.param_groups:
            group["lr"] *= (global_step + 1) / self.warmup
        self.optimizer.step()
        for group, lr in zip(self.optimizer.param_groups, scheduled, strict=True):
            group["lr"] = lr  # the schedule goes on from its own value

    def end_epoch(self) -> None:
        """Advance the per-epoch schedule."""
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        """``{"optimizer", "scheduler"}``: the entries of a resumable checkpoint."""
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore the optimiser and schedule from a checkpoint's entries."""
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
