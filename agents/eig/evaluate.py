"""Accuracy after each glimpse of the EIG agent and of the random and centre references.

``glimpse-env eval eig --checkpoint runs/eig/phase3/last.pt --rules eig,random,center``

Every image of the test split is played once per rule, on the env's fixed canvases, with the
same model (its F, R, C decide the class, the rule only where to look). The first glimpse comes
from the env's reset with a generator seeded by ``--seed`` in batches of ``--batch-size``: the
protocol of ``glimpse-env eval ram``, so with the same seed and batch size every rule and RAM see
the same first glimpse of every image. The lookahead's samples and the random cells come from a
second generator (seeded ``seed + 1``).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from agents.eig.checkpoint import CheckpointError, load_checkpoint, load_model
from agents.eig.episodes import RULES, Rule, play
from agents.eig.model import EIGModel
from agents.ram.envs import env_kwargs, parse_json_kwargs
from agents.ram.evaluate import make_test_core
from glimpse_env.commands.cli_args import parse_args
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.data.catalog import SHARED_TEST_SPLIT

__all__ = ["RuleResult", "evaluate", "main", "parse_rules"]


@dataclass(frozen=True)
class RuleResult:
    """Test metrics of one location rule.

    Attributes:
        rule: ``"eig"``, ``"random"`` or ``"center"``.
        accuracy_per_glimpse: ``(T,)`` accuracy of the belief after glimpse ``1..T``.
        num_images: images evaluated (each once).
        num_samples: latent samples of the lookahead (``"eig"``).
        cell_counts: ``(L,)`` how often each grid cell was chosen for glimpses ``2..T``.
        eval_time_s: seconds the evaluation took.
    """

    rule: str
    accuracy_per_glimpse: list[float]
    num_images: int
    num_samples: int = 0
    cell_counts: list[int] = field(default_factory=list)
    eval_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        accuracy = " ".join(f"{100 * a:5.2f}" for a in self.accuracy_per_glimpse)
        return f"{self.rule:>7}: accuracy (%) after glimpse 1..T: {accuracy}"


def parse_rules(text: str) -> list[Rule]:
    """``"eig,random"`` -> ``["eig", "random"]``; unknown names raise ValueError."""
    rules = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise ValueError(f"--rules must name some of {', '.join(RULES)}, got {text!r}")
    return rules  # type: ignore[return-value]


@torch.no_grad()
def evaluate(
    model: EIGModel,
    core: GlimpseCore,
    rule: Rule = "eig",
    num_samples: int = 20,
    seed: int = 0,
    batch_size: int = 1000,
) -> RuleResult:
    """Play every image of ``core``'s split once with ``rule`` choosing glimpses ``2..T``.

    Args:
        model: the trained model (put in eval mode for the call).
        core: the test core (:func:`agents.ram.evaluate.make_test_core` for fixed canvases).
        rule: where to look.
        num_samples: ``P``, latent samples per lookahead.
        seed: seeds the first glimpses (generator ``seed``) and the agent (``seed + 1``).
        batch_size: images per batch.
    """
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    device = core.device
    env_generator = torch.Generator(device=device).manual_seed(seed)
    agent_generator = torch.Generator(device=device).manual_seed(seed + 1)
    correct = torch.zeros(core.config.num_glimpses, device=device)
    counts = torch.zeros(len(model.grid), device=device)
    for index in torch.arange(core.num_images, device=device).split(batch_size):
        state = core.reset(env_generator, index=index)
        episodes = play(model, core, state, rule, agent_generator, num_samples)
        correct += (episodes.logits.argmax(-1) == episodes.label).sum(-1)
        counts += torch.bincount(episodes.cells[1:].flatten(), minlength=len(model.grid))
    model.train(was_training)
    return RuleResult(
        rule=rule,
        accuracy_per_glimpse=(correct / core.num_images).tolist(),
        num_images=core.num_images,
        num_samples=num_samples if rule == "eig" else 0,
        cell_counts=[int(c) for c in counts.tolist()],
        eval_time_s=time.perf_counter() - started,
    )


@dataclass
class Args:
    """Evaluate an EIG checkpoint: accuracy after each glimpse, per location rule."""

    checkpoint: str
    """The checkpoint file (OUT/last.pt of `glimpse-env train eig`)."""
    rules: str = "eig,random,center"
    """Location rules to evaluate, comma-separated: eig, random, center."""
    env: str | None = None
    """The env id; default: the one the checkpoint was trained on."""
    test_split: str | None = None
    """The split to evaluate on; default: the checkpoint's test split (else test[8000:])."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object."""
    num_samples: int = 20
    """Latent samples P of each lookahead (the paper's 20)."""
    batch_size: int = 1000
    """Images per batch (keep RAM's evaluation's for the same first glimpses)."""
    seed: int = 0
    """Seed of the first glimpses (as `glimpse-env eval ram --seed`) and of the agent."""
    device: str = "cpu"
    """torch device: cpu or cuda."""
    json_out: str | None = None
    """Also write the results as JSON to this file."""


def checkpoint_env(
    data: dict[str, Any],
    env_id: str | None,
    split: str | None,
    extra: str | None = None,
    data_root: str | None = None,
    device: str = "cpu",
) -> tuple[str, dict[str, Any]]:
    """The env id and test kwargs for a checkpoint (its env's unless overridden)."""
    env_id = env_id or data["env_id"]
    base = dict(data["env_kwargs"]) if env_id == data["env_id"] else env_kwargs(env_id)
    split = split or data.get("test_split") or SHARED_TEST_SPLIT
    overrides = {**base, **parse_json_kwargs(extra), "split": split, "device": device}
    if data_root is not None:
        overrides["data_root"] = data_root
    return env_id, env_kwargs(env_id, **overrides)


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env eval eig``."""
    args = parse_args(Args, argv, prog="glimpse-env eval eig")
    try:
        rules = parse_rules(args.rules)
        data = load_checkpoint(args.checkpoint, device=args.device)
        model = load_model(data, args.device, source=args.checkpoint)
        env_id, kwargs = checkpoint_env(
            data, args.env, args.test_split, args.env_kwargs, args.data_root, args.device
        )
        core = make_test_core(kwargs)
    except (CheckpointError, ValueError, FileNotFoundError) as err:
        print(f"glimpse-env eval eig: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.checkpoint} (phase {data['phase']}) on {env_id} split {kwargs['split']}:")
    results = []
    for rule in rules:
        result = evaluate(model, core, rule, args.num_samples, args.seed, args.batch_size)
        print(result.summary())
        results.append(result)
    if args.json_out:
        payload = {
            "checkpoint": args.checkpoint,
            "env": env_id,
            "split": kwargs["split"],
            "seed": args.seed,
            "results": [r.to_dict() for r in results],
        }
        Path(args.json_out).write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
