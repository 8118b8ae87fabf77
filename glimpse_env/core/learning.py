"""What the env offers a *learner* (not a policy): its prediction loss, a differentiable function.

Active-perception-gym's contract, which this follows: a hybrid learner trains the class belief by
its supervised loss and only the glimpse location by RL. It needs two things from the env and
nothing of its internals:

- the true label at every step, ``info["label"]`` on every face (a training signal, never part
  of the observation);
- the env's prediction loss, :func:`prediction_loss`, also offered as ``env.unwrapped.loss_fn``
  (active-perception-gym's name) by :class:`~glimpse_env.faces.env.GlimpseEnv` and
  :class:`~glimpse_env.faces.vector.GlimpseVectorEnv`.

>>> import torch
>>> logits = torch.zeros(2, 4, requires_grad=True)
>>> loss = prediction_loss(logits, torch.tensor([0, 3]))
>>> [round(x, 4) for x in loss.tolist()]  # log 4 for a uniform belief
[1.3863, 1.3863]
>>> loss.sum().backward(); logits.grad.shape
torch.Size([2, 4])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["prediction_loss"]


def prediction_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a class belief against the true label, per episode, differentiable.

    Args:
        logits: ``(B, n)`` float, the class belief as logits (what the action's ``logits`` hold).
        label: ``(B,)`` int64, the true classes (``info["label"]``; a NumPy array is accepted).

    Returns:
        ``(B,)`` float: ``-log softmax(logits)[label]``, with gradients flowing to ``logits``.

    Raises:
        ValueError: shapes that do not fit ``(B, n)`` and ``(B,)``, non-integer labels, or labels
            outside ``[0, n)``.
    """
    label = torch.as_tensor(label, device=logits.device)
    if logits.ndim != 2 or label.shape != logits.shape[:1]:
        raise ValueError(
            f"prediction_loss expects logits (B, n) and label (B,), got {tuple(logits.shape)} "
            f"and {tuple(label.shape)}"
        )
    if label.dtype.is_floating_point or label.dtype == torch.bool or label.is_complex():
        raise ValueError(f"label must hold integer classes, got dtype {label.dtype}")
    n = logits.shape[1]
    if len(label) and (int(label.min()) < 0 or int(label.max()) >= n):
        raise ValueError(f"label must lie in [0, {n}), got {label.tolist()}")
    return F.cross_entropy(logits, label.long(), reduction="none")
