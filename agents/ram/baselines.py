"""The paper's baselines: a small CNN and a 2-layer MLP that see the whole canvas.

``glimpse-env train cnn --env GlimpseEnv-cluttered60-v0 --epochs 100``
``glimpse-env train mlp --env GlimpseEnv-cluttered60-v0 --epochs 100``

They train on the same split and the same canvases as RAM: each batch's canvases are made by the
env's own core (:meth:`glimpse_env.core.batched.GlimpseCore.canvases`, fresh random canvases every
epoch
as RAM's episodes get), and the test uses the env's fixed test canvases, so the comparison with
RAM is on equal terms (Mnih et al. 2014, Tables 1-2). The epoch loop is the training harness's
(:func:`agents.harness.fit`); with ``--out`` a run writes ``last.pt`` (the weights, as the
``model.pt`` of earlier versions held them, under ``"model"``, plus the model's config),
``metrics.csv``, TensorBoard logs and ``results.json``, and ``--resume`` continues it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from agents.checkpoints import CheckpointFormat
from agents.harness import BaseTrainer, TrainArgs, fit, make_core, make_test_core, run_command
from glimpse_env.core.batched import GlimpseCore

__all__ = [
    "CHECKPOINTS",
    "MLP",
    "Args",
    "BaselineTrainer",
    "SmallCNN",
    "main_cnn",
    "main_mlp",
    "test_accuracy",
    "train_baseline",
]


class MLP(nn.Module):
    """Two fully connected ReLU layers on the flattened canvas ``(B, C, H, W)``, then a linear
    classifier."""

    def __init__(self, canvas_shape: tuple[int, int, int], num_classes: int, hidden: int = 256):
        super().__init__()
        c, h, w = canvas_shape
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c * h * w, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return self.net(canvas)


class SmallCNN(nn.Module):
    """Two 5x5 conv + ReLU + 2x2 max-pool layers (32, 64 filters), a 256-unit ReLU layer, a
    linear classifier: ``(B, C, H, W)`` -> ``(B, n)``."""

    def __init__(self, canvas_shape: tuple[int, int, int], num_classes: int, hidden: int = 256):
        super().__init__()
        c, h, w = canvas_shape
        self.net = nn.Sequential(
            nn.Conv2d(c, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (h // 4) * (w // 4), hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return self.net(canvas)


MODELS = {"cnn": SmallCNN, "mlp": MLP}


def build_model(config: dict[str, Any]) -> nn.Module:
    """A fresh baseline from its config: ``{"kind", "canvas_shape", "num_classes", "hidden"}``."""
    if config.get("kind") not in MODELS:
        raise ValueError(f"unknown baseline {config.get('kind')!r}; known: {', '.join(MODELS)}")
    shape = tuple(config["canvas_shape"])
    return MODELS[config["kind"]](shape, config["num_classes"], config["hidden"])


CHECKPOINTS = CheckpointFormat(
    "glimpse-env/baseline",
    1,
    ("format", "version", "model_config", "model", "env_id", "env_kwargs"),
    kind="a glimpse-env CNN or MLP baseline",
    build=build_model,
)
"""The baselines' checkpoint format (``last.pt``); ``CHECKPOINTS.load_model`` rebuilds one."""


@dataclass(kw_only=True)
class Args(TrainArgs):
    """Train a full-canvas baseline (the paper's CNN or MLP) on a glimpse env's images."""

    epochs: int = 50
    """Passes over the training split (fresh random canvases each epoch)."""
    out: str | None = None
    """Output folder: last.pt, metrics.csv, tensorboard/, results.json (default: none written)."""
    hidden: int = 256
    """Width of the hidden fully connected layers."""


@torch.no_grad()
def test_accuracy(model: nn.Module, core: GlimpseCore, batch_size: int = 1000) -> float:
    """Accuracy on every image of ``core``'s split once (its fixed canvases, if it has them)."""
    model.eval()
    generator = torch.Generator(device=core.device).manual_seed(0)
    correct = torch.zeros((), device=core.device)
    for index in torch.arange(core.num_images, device=core.device).split(batch_size):
        canvas = core.canvases(index, generator).float() / 255.0
        correct += (model(canvas).argmax(-1) == core.labels[index]).sum()
    model.train()
    return float(correct) / core.num_images


class BaselineTrainer(BaseTrainer):
    """A baseline's part of a run: the env's canvases, the model, the cross-entropy."""

    metrics = ("loss", "train_accuracy")
    eval_columns = ("test_accuracy",)
    checkpoints = CHECKPOINTS

    def __init__(self, kind: Literal["cnn", "mlp"], args: Args) -> None:
        self.name, self.args = kind, args
        self.kwargs = args.resolve_env_kwargs(device=args.device)
        self.core = make_core(self.kwargs)
        self.test_core = make_test_core({**self.kwargs, "split": args.test_split})
        self.num_images = self.core.num_images
        self.config = {
            "kind": kind,
            "canvas_shape": list(self.core.canvas_shape),
            "num_classes": self.core.num_classes,
            "hidden": args.hidden,
        }
        torch.manual_seed(args.seed)
        self.model = build_model(self.config).to(self.core.device)

    def describe(self) -> str:
        return (
            f"{self.name} on {self.args.env} canvases {self.core.canvas_shape} "
            f"({self.num_images} images)"
        )

    def train_batch(
        self, index: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        canvas = self.core.canvases(index, generator).float() / 255.0  # (B, C, H, W)
        logits = self.model(canvas)
        labels = self.core.labels[index]
        loss = F.cross_entropy(logits, labels)
        with torch.no_grad():
            correct = (logits.argmax(-1) == labels).sum().to(loss.dtype)
            return loss, torch.stack([loss.detach() * len(index), correct])

    def evaluate(self, test: bool) -> dict[str, float]:
        return {"test_accuracy": test_accuracy(self.model, self.test_core)} if test else {}

    def checkpoint_info(self) -> dict[str, Any]:
        return {
            "model_config": self.config,
            "env_id": self.args.env,
            "env_kwargs": self.kwargs,
            "test_split": self.args.test_split,
        }

    def test(self) -> dict[str, Any]:
        accuracy = test_accuracy(self.model, self.test_core)
        print(f"{self.name} test ({self.args.test_split}): error {100 * (1 - accuracy):.2f}%")
        return {
            "model": self.name,
            "env": self.args.env,
            "env_kwargs": self.kwargs,
            "test_split": self.args.test_split,
            "test_accuracy": accuracy,
            "test_error": 1 - accuracy,
        }


def train_baseline(kind: Literal["cnn", "mlp"], args: Args) -> dict[str, Any]:
    """Train ``kind`` on the env's canvases; returns (and, with ``--out``, writes) the results."""
    if kind not in MODELS:
        raise ValueError(f"unknown baseline {kind!r}; known: {', '.join(MODELS)}")
    return fit(args, lambda a: BaselineTrainer(kind, a))


def main_cnn(argv: list[str] | None = None) -> int:
    """``glimpse-env train cnn``."""
    return run_command("glimpse-env train cnn", Args, argv, lambda a: train_baseline("cnn", a))


def main_mlp(argv: list[str] | None = None) -> int:
    """``glimpse-env train mlp``."""
    return run_command("glimpse-env train mlp", Args, argv, lambda a: train_baseline("mlp", a))
