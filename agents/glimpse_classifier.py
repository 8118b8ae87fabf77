"""A small recurrent classifier of the glimpses a fixed looking rule sees, trained on the core.

The reference policies of :mod:`agents.heuristics` choose where to look by a rule (random
locations, the centre); to show what *choosing* where to look is worth, their guess comes from
this classifier, trained with cross-entropy on exactly the glimpses the rule sees. Training steps
the env's batched core (:class:`glimpse_env.core.batched.GlimpseCore`) with torch tensors: a batch
of
episodes per gradient step, ``T`` glimpses each, the classifier's logits sent as the belief (so
the env's own reward scores them, for the learning curve).

>>> from agents.evaluation import make_core
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8),
...                     torch.arange(64) % 10, classes=tuple("0123456789"))
>>> core = make_core("GlimpseEnv-v0", dataset=data)  # or split="test[:8000]" of MNIST
>>> run = train_glimpse_classifier(core, "center", budget=2_000, seed=0)
>>> run.env_steps  # whole batches: 5 gradient steps of 64 episodes x 6 glimpses
1920
>>> state = core.reset(torch.Generator().manual_seed(0), batch_size=4)
>>> logits, hidden = run.classifier(state.glimpse, state.location, None)
>>> tuple(logits.shape), tuple(hidden.shape)
((4, 10), (4, 128))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from agents.learning_curve import LearningCurve, Point
from glimpse_env.core.batched import GlimpseCore

__all__ = ["LOOKING_RULES", "ClassifierRun", "GlimpseClassifier", "train_glimpse_classifier"]


class GlimpseClassifier(nn.Module):
    """Glimpse + location features into a GRU; a linear head reads the class logits.

    ``g = ReLU(W_g glimpse + W_l location)``, ``h' = GRU(g, h)``, ``logits = W_o h'``.

    Args:
        glimpse_shape: ``(S*C, P, P)``.
        num_classes: n.
        hidden: width of the features and of the GRU state.
    """

    def __init__(
        self, glimpse_shape: tuple[int, int, int], num_classes: int, hidden: int = 128
    ) -> None:
        super().__init__()
        self.glimpse_shape = tuple(glimpse_shape)
        self.num_classes = num_classes
        self.hidden = hidden
        self.glimpse_net = nn.Linear(math.prod(glimpse_shape), hidden)
        self.location_net = nn.Linear(2, hidden)
        self.core = nn.GRUCell(hidden, hidden)
        self.head = nn.Linear(hidden, num_classes)

    def forward(
        self, glimpse: torch.Tensor, location: torch.Tensor, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One glimpse: ``glimpse (B, S*C, P, P)``, ``location (B, 2)``, ``hidden (B, H)`` or None.

        Returns:
            ``logits (B, n)`` after this glimpse and the new ``hidden (B, H)``.
        """
        features = torch.relu(self.glimpse_net(glimpse.flatten(1)) + self.location_net(location))
        hidden = self.core(features, hidden)
        return self.head(hidden), hidden


LookingRule = Callable[[int, torch.Generator, torch.device], torch.Tensor]
"""``(batch, generator, device) -> (B, 2)`` locations to look at next."""

LOOKING_RULES: dict[str, LookingRule] = {
    "random": lambda batch, gen, device: torch.rand(batch, 2, generator=gen, device=device) * 2 - 1,
    "center": lambda batch, gen, device: torch.zeros(batch, 2, device=device),
}
"""The looking rules of :class:`~agents.heuristics.RandomPolicy` and ``CenterPolicy``."""


@dataclass
class ClassifierRun:
    """The outcome of :func:`train_glimpse_classifier`: the classifier, its curve, its cost,
    and the hyperparameters it was trained with (``hyperparams``)."""

    classifier: GlimpseClassifier
    curve: LearningCurve
    env_steps: int
    train_time_s: float
    hyperparams: dict[str, float | int | str]


def train_glimpse_classifier(
    core: GlimpseCore,
    rule: str,
    budget: int,
    seed: int = 0,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    hidden: int = 128,
    curve_points: int = 50,
    on_point: Callable[[Point], None] | None = None,
) -> ClassifierRun:
    """Train a :class:`GlimpseClassifier` on the glimpses that looking ``rule`` sees.

    Each gradient step plays ``batch_size`` episodes on random training images (``T`` steps,
    ``batch_size * T`` env steps) and minimises the cross-entropy of the belief after every
    glimpse, averaged over the ``T`` glimpses. It stops before exceeding ``budget`` env steps
    (at least one step).

    Args:
        core: the training env's core.
        rule: a name in :data:`LOOKING_RULES`.
        budget: env steps.
        seed: seeds the initialisation, the images and the locations.
        on_point: gets each point of the learning curve as it comes.
    """
    if rule not in LOOKING_RULES:
        raise ValueError(f"unknown looking rule {rule!r}; known: {', '.join(LOOKING_RULES)}")
    look = LOOKING_RULES[rule]
    torch.manual_seed(seed)
    generator = torch.Generator(device=core.device).manual_seed(seed)
    classifier = GlimpseClassifier(core.glimpse_shape, core.num_classes, hidden).to(core.device)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=learning_rate)
    num_steps = core.config.num_glimpses
    updates = max(budget // (batch_size * num_steps), 1)
    curve = LearningCurve(interval=max(budget // curve_points, 1), on_point=on_point)
    started, env_steps = time.perf_counter(), 0
    for _ in range(updates):
        state = core.reset(generator, batch_size=batch_size)
        hidden_state, loss = None, torch.zeros((), device=core.device)
        returns = torch.zeros(batch_size, device=core.device)
        for _ in range(num_steps):
            logits, hidden_state = classifier(state.glimpse, state.location, hidden_state)
            loss = loss + nn.functional.cross_entropy(logits, state.label)
            location = look(batch_size, generator, core.device)
            state, result = core.step(state, location, logits.detach())
            returns += result.reward
        optimizer.zero_grad(set_to_none=True)
        (loss / num_steps).backward()
        optimizer.step()
        env_steps += batch_size * num_steps
        curve.add(env_steps, result.correct.tolist(), returns.tolist())
    curve.finish(env_steps)
    classifier.eval()
    hyperparams = {
        "rule": rule,
        "network": f"GRU({hidden})",
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "updates": updates,
    }
    return ClassifierRun(classifier, curve, env_steps, time.perf_counter() - started, hyperparams)
