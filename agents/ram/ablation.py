"""An ablation of RAM's training recipe: one choice changed at a time against a base recipe.

``python -m agents.ram.ablation --env GlimpseEnv-cluttered60-v0 --epochs 100 --seeds 1,2
--out runs/ram-ablation``

Each variant of :data:`VARIANTS` is ``glimpse-env train ram`` with the base recipe
(:data:`BASE`: the recipe of the full runs in ``docs/results.md``, on a schedule of ``--epochs``)
plus the variant's own arguments; its seeds train together (one process, stacked). Every
finished run is tested by ``glimpse-env eval ram`` (deterministic, evaluation seed 0, the held-out
split) and the table ``OUT/ablation.md`` gives each variant's test error per seed, the mean,
and the change against ``base``. Resumable: a run with its evaluation on disk is not trained
again, an interrupted one resumes from its ``last.pt``.

Writes ``OUT/VARIANT/seedN/`` (the training run), ``OUT/VARIANT/seedN.eval.json`` and
``OUT/ablation.md``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from agents.harness import print_written, run_command

__all__ = ["BASE", "VARIANTS", "AblationRow", "Args", "main", "run_ablation", "table_markdown"]

BASE: tuple[str, ...] = (
    "--reward", "correct", "--batch-size", "256", "--learning-rate", "1e-3",
    "--lr-schedule", "cosine", "--location-std", "0.1", "--core", "rnn",
    "--no-reinforce-to-core", "--eval-every", "25",
)  # fmt: skip
"""``glimpse-env train ram`` arguments every variant starts from (the full runs' recipe)."""

VARIANTS: dict[str, tuple[str, ...]] = {
    "base": (),
    "location std 0.05": ("--location-std", "0.05"),
    "location std 0.2": ("--location-std", "0.2"),
    "location std 0.3": ("--location-std", "0.3"),
    "location std 0.4": ("--location-std", "0.4"),
    "LSTM core": ("--core", "lstm"),
    "REINFORCE into the core": ("--reinforce-to-core",),
    "core 512 wide": ("--hidden-size", "512"),
    "batch 128": ("--batch-size", "128"),
    "batch 1024 + sqrt lr scaling + warm-up": (
        "--batch-size", "1024", "--lr-scaling", "sqrt", "--lr-reference-batch", "256",
        "--lr-warmup", "100",
    ),
    "constant learning rate": ("--lr-schedule", "constant"),
    "schedule x2": ("--epochs", "2x"),
}  # fmt: skip
"""Variant name -> the arguments it changes (later arguments win over :data:`BASE`'s);
``--epochs 2x`` means twice the ablation's ``--epochs``."""


def slug(name: str) -> str:
    """A variant's folder name: ``'location std 0.05'`` -> ``'location-std-0.05'``."""
    kept = "".join(c if c.isalnum() or c == "." else "-" for c in name.lower())
    return "-".join(part for part in kept.split("-") if part)


def variant_argv(name: str, env: str, epochs: int, seeds: list[int], out: Path) -> list[str]:
    """The ``glimpse-env train ram`` arguments of one variant (all its seeds, one process)."""
    changes = list(VARIANTS[name])
    if "--epochs" in changes:
        at = changes.index("--epochs") + 1
        factor = changes[at]
        if not factor.endswith("x"):
            raise ValueError(f"variant {name!r}: --epochs must be a factor like '2x'")
        changes[at] = str(int(factor[:-1]) * epochs)
    else:
        changes = ["--epochs", str(epochs), *changes]
    folder = out / slug(name)
    return [
        "--env", env, "--seeds", ",".join(map(str, seeds)), *BASE, *changes,
        "--out", str(folder / "seed{seed}"), "--resume", "--no-progress",
    ]  # fmt: skip


@dataclass(frozen=True)
class AblationRow:
    """One variant's deterministic test errors (%), by seed."""

    variant: str
    errors: dict[int, float]

    @property
    def mean_error(self) -> float:
        return mean(self.errors.values())


def table_markdown(rows: list[AblationRow], env: str, epochs: int) -> str:
    """The ablation table: per-seed errors, the mean, the change against ``base``."""
    base = next((r.mean_error for r in rows if r.variant == "base"), None)
    lines = [
        f"RAM on {env}, {epochs}-epoch schedule unless the variant says otherwise; "
        "deterministic test error (%) of `glimpse-env eval ram` on the held-out split.",
        "",
        "| variant | error per seed | mean error | change vs base |",
        "| --- | --- | ---: | ---: |",
    ]
    for row in rows:
        seeds = ", ".join(f"{seed}: {error:.2f}" for seed, error in sorted(row.errors.items()))
        change = "–" if base is None or row.variant == "base" else f"{row.mean_error - base:+.2f}"
        lines.append(f"| {row.variant} | {seeds} | {row.mean_error:.2f} | {change} |")
    return "\n".join(lines) + "\n"


@dataclass
class Args:
    """Train RAM variants that each change one choice of the recipe, and table their errors."""

    env: str = "GlimpseEnv-cluttered60-v0"
    """The env id every variant trains on."""
    epochs: int = 100
    """The schedule's length (a variant may scale it)."""
    seeds: str = "1,2"
    """Seeds per variant, trained together."""
    variants: str = ""
    """Comma-separated variant names or folder names (``lstm-core``); default: all."""
    out: str = "runs/ram-ablation"
    """Output folder."""
    threads: int = 1
    """torch CPU threads per training process."""
    split: str | None = None
    """The training split (default: the trainer's, test[:8000] offline)."""
    test_split: str | None = None
    """The held-out split (default: the trainer's, test[8000:])."""


def _chosen(args: Args) -> list[str]:
    """The variants ``--variants`` names (by name or by folder name), in the order given."""
    by_slug = {slug(name): name for name in VARIANTS}
    asked = [n.strip() for n in args.variants.split(",") if n.strip()]
    names = [n if n in VARIANTS else by_slug.get(slug(n), n) for n in asked] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; expected names of {list(VARIANTS)}")
    return names


def run_ablation(args: Args) -> list[AblationRow]:
    """Train (or resume) and evaluate every chosen variant; write and return the table."""
    from agents.ram.evaluate import main as eval_main
    from agents.ram.train import main as train_main
    from agents.ram.train import parse_seeds

    names, seeds, out = _chosen(args), parse_seeds(args.seeds), Path(args.out)
    if args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
    extra = ["--threads", str(args.threads)]
    extra += ["--split", args.split] if args.split else []
    extra += ["--test-split", args.test_split] if args.test_split else []
    rows = []
    for name in names:
        folder = out / slug(name)
        evaluations = {seed: folder / f"seed{seed}.eval.json" for seed in seeds}
        if not all(path.is_file() for path in evaluations.values()):
            print(f"== {name}", flush=True)
            argv = variant_argv(name, args.env, args.epochs, seeds, out)
            if train_main([*argv, *extra]) != 0:
                raise ValueError(f"variant {name!r}: glimpse-env train ram failed")
            for seed, path in evaluations.items():
                checkpoint = folder / f"seed{seed}" / "last.pt"
                if eval_main(["--checkpoint", str(checkpoint), "--json-out", str(path)]) != 0:
                    raise ValueError(f"variant {name!r}: glimpse-env eval ram failed")
        errors = {}
        for seed, path in evaluations.items():
            result = json.loads(path.read_text())["results"][0]
            errors[seed] = 100.0 * float(result["error"])
        rows.append(AblationRow(name, errors))
    table = table_markdown(rows, args.env, args.epochs)
    from agents.benchmark.report import write_atomic

    write_atomic(out / "ablation.md", table.encode())
    print(table)
    print_written([out / "ablation.md"])
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.ram.ablation``."""
    return run_command("python -m agents.ram.ablation", Args, argv, run_ablation)


if __name__ == "__main__":
    sys.exit(main())
