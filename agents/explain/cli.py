"""``glimpse-env explain``: what a trained RAM saw, glimpse by glimpse.

::

    glimpse-env explain --checkpoint runs/ram/last.pt --env GlimpseEnv-v0 --episodes 1000 \
        --out runs/explain

1. Trains a :class:`~agents.explain.vae.HiddenStateVAE` on the agent's hidden states over its
   training split (or loads ``OUT/vae.pt`` when it was trained for this checkpoint with the same
   settings, or ``--vae FILE``); saved atomically, loadable with ``torch.load(weights_only=True)``.
2. Plays the first ``--episodes`` test images (fixed canvases, initial locations seeded with
   ``--seed``) and writes, under ``--out``:

   - ``grid.png``: rows are examples; columns the image, then the reconstruction after each
     glimpse, with the glimpse squares drawn;
   - ``episode-K.gif``: the same for one episode, a frame per glimpse;
   - ``entropy.png``, ``information_gain.png``, ``log_p_true.png``, ``accuracy.png``,
     ``reconstruction_mse.png``: the per-glimpse curves;
   - ``curves.csv`` and ``curves.json``: their numbers (and how they were made).

``glimpse-env explain study train|report ...`` runs the reshaped-reward study
(:mod:`agents.explain.study`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.explain.episodes import Episodes, play_split
from agents.explain.figures import episode_frames, explanation_grid, plot_curves, write_png
from agents.explain.footprint import glimpse_sides
from agents.explain.information import CURVES, belief_information, mean_curves
from agents.explain.reconstruction import (
    VAETraining,
    core_footprints,
    decode_hiddens,
    reconstruction_mse,
    train_vae,
)
from agents.explain.vae import HiddenStateVAE, load_vae, save_vae
from agents.harness import RunArgs, make_core, make_test_core, print_written, run_command
from agents.harness.args import config_from_args
from agents.harness.threads import torch_threads
from agents.ram.agent import RAMAgent
from agents.ram.checkpoint import load_checkpoint, load_model
from agents.ram.envs import env_kwargs, parse_json_kwargs
from glimpse_env.core.batched import GlimpseCore
from glimpse_env.data.catalog import SHARED_TEST_SPLIT
from glimpse_env.pictures.recording import write_gif

__all__ = ["Args", "explain", "main"]

CURVE_LABELS = {
    "entropy": "belief entropy H_t (nats)",
    "information_gain": "information gain H_{t-1} - H_t (nats)",
    "log_p_true": "log p_t(true class)",
    "accuracy": "accuracy",
    "reconstruction_mse": "reconstruction MSE",
}


@dataclass(kw_only=True)
class Args(RunArgs):
    """Explain what a RAM saw: hidden-state reconstructions and information per glimpse."""

    checkpoint: str
    """The RAM checkpoint (best.pt or last.pt of glimpse-env train ram)."""
    env: str | None = None
    """The env id; default: the one the checkpoint was trained on."""
    episodes: int = 1000
    """Test episodes for the curves: the first N images of the test split (each once)."""
    examples: int = 8
    """Rows of grid.png (the first test episodes)."""
    gifs: int = 4
    """GIFs written, one per episode (the first test episodes)."""
    out: str = "runs/explain"
    """Output folder."""
    vae: str | None = None
    """Load this VAE file instead of OUT/vae.pt or training one."""
    retrain: bool = False
    """Train the VAE even if OUT/vae.pt fits this checkpoint and these settings."""
    vae_epochs: int = 10
    """Passes of VAE training over the training split."""
    batch_size: int = 128
    """Episodes per VAE gradient step."""
    learning_rate: float = 1e-3
    """Adam's learning rate for the VAE."""
    latent_size: int = 32
    """Size of the VAE's latent z."""
    vae_hidden: int = 512
    """Width of the VAE's hidden layers."""
    partial: bool = False
    """Reconstruction loss only on pixels the agent has seen so far (the glimpse footprints)."""
    kl_warmup: int = 0
    """Epochs over which the KL weight rises from 0 to 1 (against posterior collapse)."""
    train_split: str | None = None
    """The VAE's training split; default the checkpoint's training split."""
    test_split: str | None = None
    """The test split; default the checkpoint's (else test[8000:])."""
    data_root: str | None = None
    """Where the dataset files live; default $GLIMPSE_ENV_DATA."""
    env_kwargs: str | None = None
    """More env kwargs as a JSON object."""
    seed: int = 0
    """Seed of the VAE's training and of the test episodes' initial locations."""
    zoom: int = 3
    """Enlargement of the images in grid.png (the GIFs use zoom + 1)."""
    progress: bool = True
    """Show progress bars."""


VAE_FLAGS = (
    *("vae_epochs", "batch_size", "learning_rate", "latent_size"),
    *("vae_hidden", "partial", "seed", "kl_warmup"),
)
"""The flags that make the VAE: with the checkpoint, the env and the split, its identity."""


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_cores(args: Args, saved: dict[str, Any]) -> tuple[str, GlimpseCore, GlimpseCore]:
    """``(env id, training core, test core with fixed canvases)`` for the checkpoint ``saved``."""
    env_id = args.env or saved["env_id"]
    base = dict(saved["env_kwargs"]) if env_id == saved["env_id"] else env_kwargs(env_id)
    overrides = {**base, **parse_json_kwargs(args.env_kwargs), "device": args.device}
    if args.data_root is not None:
        overrides["data_root"] = args.data_root
    kwargs = env_kwargs(env_id, **overrides)
    train_split = args.train_split or kwargs.get("split", "train")
    test_split = args.test_split or saved.get("test_split") or SHARED_TEST_SPLIT
    return (
        env_id,
        make_core({**kwargs, "split": train_split}),
        make_test_core({**kwargs, "split": test_split}),
    )


def obtain_vae(
    args: Args, agent: RAMAgent, core: GlimpseCore, identity: dict[str, Any]
) -> tuple[HiddenStateVAE, dict[str, Any]]:
    """Load ``--vae``, or ``OUT/vae.pt`` if it was made with ``identity``, else train and save."""
    if args.vae is not None:
        vae, meta = load_vae(args.vae, args.device)
        print(f"loaded the VAE {args.vae}")
        return vae, meta
    path = Path(args.out) / "vae.pt"
    if path.is_file() and not args.retrain:
        vae, meta = load_vae(path, args.device)
        if meta.get("identity") == identity:
            print(f"reusing {path} (trained for this checkpoint with these settings)")
            return vae, meta
    settings = config_from_args(
        VAETraining, args, epochs=args.vae_epochs, hidden_size=args.vae_hidden
    )
    print(f"training the VAE on {core.dataset_name} ({core.num_images} images): {settings}")
    vae, history = train_vae(agent, core, settings, progress=args.progress)
    meta = {"identity": identity, "history": history}
    save_vae(path, vae, meta)
    print_written([path])
    return vae, meta


def write_tables(out: Path, curves: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """``curves.csv`` (one row per glimpse, ``t = 0`` holds ``H_0``) and ``curves.json``."""
    steps = len(curves["accuracy"])
    names = ["entropy", *(n for n in curves if n != "entropy")]
    with (out / "curves.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["glimpse", *names])
        for t in range(steps + 1):
            row: list[Any] = [t, float(curves["entropy"][t])]
            row += ["" if t == 0 else float(curves[n][t - 1]) for n in names[1:]]
            writer.writerow(row)
    payload = {**meta, "curves": {k: v.tolist() for k, v in curves.items()}}
    (out / "curves.json").write_text(json.dumps(payload, indent=2))


def write_figures(
    out: Path, args: Args, played: Episodes, recon: torch.Tensor, core: GlimpseCore,
    curves: dict[str, np.ndarray],
) -> list[Path]:  # fmt: skip
    """grid.png, the GIFs and the curve plots; returns the paths written."""
    c = core.config
    sides = glimpse_sides(c.patch_size, c.num_scales, c.scale_factor)
    k = min(args.examples, len(played.label))
    grid = explanation_grid(
        played.canvas[:k].numpy(), recon[:k].numpy(), played.locations[:k].numpy(), sides, args.zoom
    )
    paths = [write_png(out / "grid.png", grid)]
    gifs = min(args.gifs, len(played.label))
    seen = core_footprints(core, played.locations[:gifs])[:, :, 0].numpy()  # (K, T, H, W)
    for i in range(gifs):
        frames = episode_frames(
            played.canvas[i].numpy(), recon[i].numpy(), played.locations[i].numpy(), sides,
            played.log_beliefs[i].numpy(), core.classes, int(played.label[i]), seen[i],
            zoom=args.zoom + 1,
        )  # fmt: skip
        paths.append(write_gif(out / f"episode-{i}.gif", frames, fps=2.0))
    for name, values in curves.items():
        start = 0 if name == "entropy" else 1
        title = f"{core.dataset_name}: {CURVE_LABELS[name]}"
        paths.append(plot_curves(out / f"{name}.png", {name: (values, None)}, CURVE_LABELS[name],
                                 title, start))  # fmt: skip
    return paths


def explain(args: Args, command: str | None = None) -> dict[str, Any]:
    """Run ``glimpse-env explain``; returns the curves and what made them (also curves.json).

    ``command`` is recorded in curves.json as the command line that made the files. Nothing is
    written before the checkpoint and the env are loaded; the last lines name every file.
    """
    with torch_threads(args.threads):
        return _explain(args, command)


def _explain(args: Args, command: str | None) -> dict[str, Any]:
    out = Path(args.out)
    saved = load_checkpoint(args.checkpoint, device=args.device)
    agent = RAMAgent(
        load_model(saved, args.device, source=args.checkpoint), args.device, saved["env_id"]
    )
    env_id, train_core, test_core = make_cores(args, saved)
    identity = {
        "checkpoint_sha256": _sha256(args.checkpoint),
        "env": env_id,
        "train_split": train_core.dataset_name,
        **{flag: getattr(args, flag) for flag in VAE_FLAGS},
    }
    out.mkdir(parents=True, exist_ok=True)  # the checkpoint and the env are good: write
    stages = tqdm(total=3, desc="explain", disable=not args.progress)
    vae, vae_meta = obtain_vae(args, agent, train_core, identity)
    stages.update()
    played = play_split(agent, test_core, args.episodes, args.seed, progress=args.progress)
    recon = torch.cat([decode_hiddens(vae, h).cpu() for h in played.hiddens.split(500)])
    info = belief_information(played.log_beliefs, played.label)
    info["reconstruction_mse"] = reconstruction_mse(recon, played.canvas).numpy()
    curves = mean_curves(info)
    stages.update()
    meta = {
        "command": command,
        "args": asdict(args),
        "env": env_id,
        "test_split": test_core.dataset_name,
        "episodes": len(played.label),
        "seed": args.seed,
        "num_classes": test_core.num_classes,
        "vae": {k: v for k, v in vae_meta.items() if k != "history"},
        "vae_history": vae_meta.get("history", []),
    }
    write_tables(out, curves, meta)
    paths = write_figures(out, args, played, recon, test_core, curves)
    stages.update()
    stages.close()
    print(
        f"{args.checkpoint} on {env_id} ({test_core.dataset_name}, {len(played.label)} episodes):"
    )
    for name in (*CURVES, "reconstruction_mse"):
        print(f"  {name:<20} " + " ".join(f"{v:.4f}" for v in curves[name]))
    print_written([out / "curves.csv", out / "curves.json", *paths])
    return {**meta, "curves": {k: v.tolist() for k, v in curves.items()}}


def main(argv: list[str] | None = None) -> int:
    """``glimpse-env explain`` (and ``glimpse-env explain study ...``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "study":
        from agents.explain.study import main as study_main

        return study_main(argv[1:])
    command = shlex.join(["glimpse-env", "explain", *argv])
    return run_command("glimpse-env explain", Args, argv, lambda args: explain(args, command))


if __name__ == "__main__":
    sys.exit(main())
