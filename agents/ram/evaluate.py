"""Evaluate a RAM on a test split: every image once, fixed canvases, deterministic or Monte-Carlo.

``glimpse-env eval ram --checkpoint runs/ram/best.pt --env GlimpseEnv-cluttered60-v0``

The test core is made with ``fixed_canvases=True`` (the canvas of image ``i`` is the same in
every run) and the initial locations come from a generator seeded with ``--seed``, so two runs
give the same numbers. Modes: ``deterministic`` sends the policy's mean locations; Monte-Carlo
(``--mc-samples M``) plays ``M`` sampled episodes per image and averages their beliefs.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from agents.ram.checkpoint import load_checkpoint, load_model
from agents.ram.envs import env_kwargs, make_core, parse_json_kwargs
from agents.ram.model import RecurrentAttentionModel
from agents.ram.rollout import rollout
from glimpse_env.commands.cli_args import parse_args
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.data.catalog import SHARED_TEST_SPLIT

__all__ = ["Args", "EvalResult", "evaluate", "main", "make_test_core", "run"]


@dataclass(frozen=True)
class EvalResult:
    """Test metrics of one evaluation.

    Attributes:
        error: ``1 - accuracy`` of the final guess.
        accuracy: of the final guess (for Monte-Carlo: of the averaged belief).
        accuracy_per_glimpse: ``(T,)`` accuracy of the belief after glimpse ``1..T``.
        entropy_per_glimpse: ``(T,)`` mean entropy (nats) of one episode's belief after each
            glimpse.
        look_step_per_glimpse: ``(T-1,)`` mean distance in pixels of the canvas from the
            previous glimpse's centre to glimpse ``2..T``'s (how far each look moves).
        mean_reward: mean over episodes of the sum of the env's rewards.
        num_images: images evaluated (each once).
        mode: ``"deterministic"`` or ``"monte-carlo"``.
        mc_samples: episodes per image.
    """

    error: float
    accuracy: float
    accuracy_per_glimpse: list[float] = field(default_factory=list)
    entropy_per_glimpse: list[float] = field(default_factory=list)
    look_step_per_glimpse: list[float] = field(default_factory=list)
    mean_reward: float = 0.0
    num_images: int = 0
    mode: str = "deterministic"
    mc_samples: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        per_glimpse = " ".join(f"{a:.4f}" for a in self.accuracy_per_glimpse)
        steps = " ".join(f"{d:.1f}" for d in self.look_step_per_glimpse)
        return (
            f"{self.mode} (M={self.mc_samples}) on {self.num_images} images: "
            f"error {100 * self.error:.2f}%  accuracy {100 * self.accuracy:.2f}%  "
            f"mean reward {self.mean_reward:.4f}\n  accuracy per glimpse: {per_glimpse}\n"
            f"  look step per glimpse (px): {steps}"
        )


def make_test_core(kwargs: dict[str, Any]) -> GlimpseCore:
    """The core of the test env: ``kwargs`` with ``fixed_canvases=True``."""
    return make_core({**kwargs, "fixed_canvases": True})


@torch.no_grad()
def evaluate(
    model: RecurrentAttentionModel,
    core: GlimpseCore,
    mc_samples: int = 0,
    batch_size: int = 1000,
    seed: int = 0,
) -> EvalResult:
    """Play every image of ``core``'s split once (``mc_samples`` times for Monte-Carlo).

    Args:
        model: the RAM (put in eval mode for the call).
        core: the test core (use :func:`make_test_core` for fixed canvases).
        mc_samples: 0 for the deterministic policy (mean locations); ``M >= 1`` for ``M``
            sampled episodes per image, their beliefs averaged.
        batch_size: images per batch.
        seed: seeds the initial locations and the location samples.
    """
    if mc_samples < 0:
        raise ValueError(f"mc_samples must be >= 0, got {mc_samples}")
    if tuple(model.config.glimpse_shape) != core.glimpse_shape:
        raise ValueError(
            f"the model reads glimpses of shape {tuple(model.config.glimpse_shape)}, the env "
            f"gives {core.glimpse_shape}: evaluate it on the env it was trained on"
        )
    if model.config.num_classes != core.num_classes:
        raise ValueError(
            f"the model has {model.config.num_classes} classes, the env {core.num_classes}"
        )
    was_training = model.training
    model.eval()
    device = core.device
    generator = torch.Generator(device=device).manual_seed(seed)
    samples = max(mc_samples, 1)
    num_steps = core.config.num_glimpses
    correct = torch.zeros(num_steps, device=device)
    entropy = torch.zeros(num_steps, device=device)
    look_step = torch.zeros(num_steps - 1, device=device)
    height, width = core.canvas_shape[-2:]  # (x, y) in [-1, 1] span the canvas (the sensor's map)
    pixels_per_unit = torch.tensor([width / 2.0, height / 2.0], device=device)
    reward = torch.zeros((), device=device)
    for index in torch.arange(core.num_images, device=device).split(batch_size):
        state = core.reset(generator, index=index.repeat(samples))
        episodes = rollout(model, core, state, generator, deterministic=mc_samples == 0)
        log_p = torch.log_softmax(episodes.logits, dim=-1)  # (T, M*B, n)
        entropy += -(log_p.exp() * log_p).sum(-1).sum(-1)
        reward += episodes.rewards.sum()
        moves = (episodes.locations.diff(dim=0) * pixels_per_unit).norm(dim=-1)  # (T-1, M*B)
        look_step += moves.sum(-1)
        belief = log_p.exp().unflatten(1, (samples, len(index))).mean(1)  # (T, B, n)
        correct += (belief.argmax(-1) == core.labels[index]).sum(-1)
    model.train(was_training)
    episodes_played = core.num_images * samples
    accuracy_per_glimpse = (correct / core.num_images).tolist()
    return EvalResult(
        error=1.0 - accuracy_per_glimpse[-1],
        accuracy=accuracy_per_glimpse[-1],
        accuracy_per_glimpse=accuracy_per_glimpse,
        entropy_per_glimpse=(entropy / episodes_played).tolist(),
        look_step_per_glimpse=(look_step / episodes_played).tolist(),
        mean_reward=float(reward) / episodes_played,
        num_images=core.num_images,
        mode="deterministic" if mc_samples == 0 else "monte-carlo",
        mc_samples=samples,
    )


@dataclass
class Args:
    """Evaluate a trained RAM checkpoint on a test split (every image once, fixed canvases)."""

    checkpoint: str
    """The checkpoint file (best.pt or last.pt of a training run)."""
    env: str | None = None
    """The env id; default: the one the checkpoint was trained on."""
    test_split: str | None = None
    """The split to evaluate on; default: the checkpoint's test split (else test[8000:])."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object; default: the checkpoint's."""
    mc_samples: int = 0
    """0: deterministic (mean locations); M > 0: also M sampled episodes per image, averaged."""
    batch_size: int = 1000
    """Images per batch."""
    seed: int = 0
    """Seed of the initial locations and location samples."""
    device: str = "cpu"
    """torch device: cpu or cuda."""
    json_out: str | None = None
    """Also write the results as JSON to this file."""


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env eval ram``."""
    args = parse_args(Args, argv, prog="glimpse-env eval ram")
    try:
        return run(args)
    except (FileNotFoundError, ValueError) as err:  # CheckpointError is a ValueError
        print(f"glimpse-env eval ram: error: {err}", file=sys.stderr)
        return 2


def run(args: Args) -> int:
    """Evaluate as ``args`` says; print the results (and write them as JSON if asked)."""
    data = load_checkpoint(args.checkpoint, device=args.device)
    model = load_model(data, args.device, source=args.checkpoint)
    saved = dict(data["env_kwargs"])
    extra = parse_json_kwargs(args.env_kwargs) if args.env_kwargs is not None else {}
    env_id = args.env or data["env_id"]
    base = saved if env_id == data["env_id"] else env_kwargs(env_id)
    split = args.test_split or data.get("test_split") or SHARED_TEST_SPLIT
    overrides = {**base, **extra, "split": split, "device": args.device}
    if args.data_root is not None:
        overrides["data_root"] = args.data_root
    kwargs = env_kwargs(env_id, **overrides)
    core = make_test_core(kwargs)
    results = [evaluate(model, core, 0, args.batch_size, args.seed)]
    if args.mc_samples > 0:
        results.append(evaluate(model, core, args.mc_samples, args.batch_size, args.seed))
    print(f"{args.checkpoint} on {env_id} split {split}:")
    for result in results:
        print(result.summary())
        entropy = " ".join(f"{h:.3f}" for h in result.entropy_per_glimpse)
        print(f"  belief entropy per glimpse (nats): {entropy}")
    if args.json_out:
        payload = {
            "checkpoint": args.checkpoint,
            "env": env_id,
            "split": split,
            "results": [r.to_dict() for r in results],
        }
        Path(args.json_out).write_text(json.dumps(payload, indent=2))
    return 0 if all(math.isfinite(r.error) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
