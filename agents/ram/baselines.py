"""The paper's baselines: a small CNN and a 2-layer MLP that see the whole canvas.

``glimpse-env train cnn --env GlimpseEnv-cluttered60-v0 --epochs 100``
``glimpse-env train mlp --env GlimpseEnv-cluttered60-v0 --epochs 100``

They train on the same split and the same canvases as RAM: each batch's canvases are made by the
env's own core (:meth:`glimpse_env.core.batched.GlimpseCore.canvases`, fresh random canvases every
epoch
as RAM's episodes get), and the test uses the env's fixed test canvases, so the comparison with
RAM is on equal terms (Mnih et al. 2014, Tables 1-2).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from agents.ram.envs import env_kwargs, make_core, parse_json_kwargs
from agents.ram.evaluate import make_test_core
from agents.ram.threads import torch_threads
from glimpse_env.commands.cli_args import parse_args
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT

__all__ = ["MLP", "Args", "SmallCNN", "main_cnn", "main_mlp", "test_accuracy", "train_baseline"]


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


@dataclass
class Args:
    """Train a full-canvas baseline (the paper's CNN or MLP) on a glimpse env's images."""

    env: str = "GlimpseEnv-v0"
    """The env id whose images and canvases to classify."""
    split: str = SHARED_TRAIN_SPLIT
    """The training split ('train' where the full set is on disk; offline: test[:8000])."""
    test_split: str = SHARED_TEST_SPLIT
    """The split tested at the end, on the env's fixed canvases."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object."""
    epochs: int = 50
    """Passes over the training split (fresh random canvases each epoch)."""
    batch_size: int = 128
    """Images per gradient step."""
    learning_rate: float = 1e-3
    """Adam's learning rate (cosine schedule)."""
    hidden: int = 256
    """Width of the hidden fully connected layers."""
    seed: int = 1
    """Seed of the initialisation, the image order and the canvases."""
    device: str = "cpu"
    """torch device: cpu or cuda."""
    threads: int | None = None
    """torch CPU threads (default: torch's)."""
    out: str | None = None
    """Folder for results.json and model.pt (default: none written)."""
    progress: bool = True
    """Show a progress bar per epoch."""


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


def train_baseline(kind: Literal["cnn", "mlp"], args: Args) -> dict:
    """Train ``kind`` on the env's canvases; returns (and writes) the test results."""
    with torch_threads(args.threads):
        return _train_baseline(kind, args)


def _train_baseline(kind: Literal["cnn", "mlp"], args: Args) -> dict:
    overrides = {**parse_json_kwargs(args.env_kwargs), "split": args.split, "device": args.device}
    if args.data_root is not None:
        overrides["data_root"] = args.data_root
    kwargs = env_kwargs(args.env, **overrides)
    core = make_core(kwargs)
    test_core = make_test_core({**kwargs, "split": args.test_split})

    torch.manual_seed(args.seed)
    model = MODELS[kind](core.canvas_shape, core.num_classes, args.hidden).to(core.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    generator = torch.Generator(device=core.device).manual_seed(args.seed)
    print(f"training {kind} on {args.env} canvases {core.canvas_shape} ({core.num_images} images)")
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(core.num_images, generator=generator, device=core.device)
        correct = torch.zeros((), device=core.device)
        batches = tqdm(
            order.split(args.batch_size), desc=f"epoch {epoch}", disable=not args.progress
        )
        for index in batches:
            canvas = core.canvases(index, generator).float() / 255.0  # (B, C, H, W)
            logits = model(canvas)
            loss = F.cross_entropy(logits, core.labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += (logits.argmax(-1) == core.labels[index]).sum()
        scheduler.step()
        print(f"epoch {epoch}: train acc {float(correct) / core.num_images:.4f}")
    train_time = time.perf_counter() - started
    accuracy = test_accuracy(model, test_core)
    print(f"{kind} test ({args.test_split}): error {100 * (1 - accuracy):.2f}% ({train_time:.0f}s)")
    summary = {
        "model": kind,
        "env": args.env,
        "env_kwargs": kwargs,
        "test_split": args.test_split,
        "epochs": args.epochs,
        "train_time_s": train_time,
        "test_accuracy": accuracy,
        "test_error": 1 - accuracy,
    }
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(summary, indent=2))
        torch.save(model.state_dict(), out / "model.pt")
    return summary


def _main(kind: Literal["cnn", "mlp"], argv: list[str] | None) -> int:
    args = parse_args(Args, argv, prog=f"glimpse-env train {kind}")
    try:
        train_baseline(kind, args)
    except ValueError as err:
        print(f"glimpse-env train {kind}: error: {err}", file=sys.stderr)
        return 2
    return 0


def main_cnn(argv: list[str] | None = None) -> int:
    """``glimpse-env train cnn``."""
    return _main("cnn", argv)


def main_mlp(argv: list[str] | None = None) -> int:
    """``glimpse-env train mlp``."""
    return _main("mlp", argv)
