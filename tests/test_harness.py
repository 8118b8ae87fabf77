"""The training harness: exact resume through warm-up, the learning-rate rule, old checkpoints,
arguments refused before any output exists, and the paths a run reports. A toy trainer (a linear
probe on a tiny synthetic dataset) keeps these fast; the agents' own trainers have their tests."""

from __future__ import annotations

import csv
import doctest
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import agents.harness.args
import agents.harness.optimization
from agents.checkpoints import CheckpointError, CheckpointFormat
from agents.eig.train import main as eig_main
from agents.explain.cli import main as explain_main
from agents.harness import BaseTrainer, TrainArgs, fit, make_core, make_test_core
from agents.ram.baselines import main_cnn
from agents.ram.train import main as ram_main
from agents.sb3.train import main_ppo
from glimpse_env.data.catalog import ImageDataset

PROBE = CheckpointFormat(
    "test/probe",
    version=1,
    required=("model_config", "model"),
    kind="a probe",
    build=lambda config: nn.Linear(config["inputs"], config["classes"]),
)


def tiny_dataset() -> ImageDataset:
    images = torch.randint(0, 256, (48, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    return ImageDataset(images.to(torch.uint8), torch.arange(48) % 3, classes=tuple("abc"))


@dataclass(kw_only=True)
class ProbeArgs(TrainArgs):
    epochs: int = 3
    batch_size: int = 8  # 48 images: 6 steps per epoch
    learning_rate: float = 0.05
    progress: bool = False
    tensorboard: bool = False
    threads: int | None = 1


class Probe(BaseTrainer):
    """A linear classifier of the env's canvases: the smallest trainer the harness runs."""

    name = "probe"
    metrics = ("loss", "train_accuracy")
    eval_columns = ("test_accuracy",)
    best_metric = "train_accuracy"
    checkpoints = PROBE

    def __init__(self, args: ProbeArgs) -> None:
        self.args = args
        kwargs = args.resolve_env_kwargs(dataset=tiny_dataset())
        self.core = make_core(kwargs)
        self.test_core = make_test_core(kwargs)
        self.num_images = self.core.num_images
        channels, height, width = self.core.canvas_shape
        self.config = {"inputs": channels * height * width, "classes": self.core.num_classes}
        torch.manual_seed(args.seed)
        self.model = PROBE.build(self.config)

    def describe(self) -> str:
        return "a probe"

    def accuracy(self, canvas: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.model(canvas.flatten(1).float() / 255).argmax(-1) == labels).float().sum()

    def train_batch(self, index, generator):
        canvas = self.core.canvases(index, generator).flatten(1).float() / 255
        logits = self.model(canvas)
        loss = F.cross_entropy(logits, self.core.labels[index])
        correct = (logits.argmax(-1) == self.core.labels[index]).float().sum()
        return loss, torch.stack([loss.detach() * len(index), correct])

    def evaluate(self, test):
        return {"test_accuracy": self.test()["test_accuracy"]} if test else {}

    def checkpoint_info(self):
        return {"model_config": self.config}

    def test(self):
        index = torch.arange(self.test_core.num_images)
        canvas = self.test_core.canvases(index, torch.Generator().manual_seed(0))
        with torch.no_grad():
            correct = self.accuracy(canvas, self.test_core.labels)
        return {"test_accuracy": float(correct) / len(index)}


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "metrics.csv").open(newline="") as f:
        return [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in csv.DictReader(f)]


def test_harness_doctests():
    for module in (agents.harness.args, agents.harness.optimization):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_resume_through_warmup_ends_with_the_uninterrupted_weights(tmp_path, monkeypatch):
    """Warm-up over 10 steps spans the interruption (epoch 2 of 3, 6 steps each), with lr
    scaling and clipping on: the resumed run must continue the warm-up, the schedule, Adam's
    moments and both RNGs exactly where the first run stopped."""
    args = ProbeArgs(lr_warmup=10, lr_scaling="sqrt", max_grad_norm=0.5, eval_every=2)
    fit(replace(args, out=str(tmp_path / "full")), Probe)
    cut = replace(args, out=str(tmp_path / "cut"))
    steps = {"n": 0}
    original = torch.optim.Adam.step

    def interrupting_step(self, *a, **kw):
        steps["n"] += 1
        if steps["n"] > 8:  # inside epoch 2
            raise KeyboardInterrupt
        return original(self, *a, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(torch.optim.Adam, "step", interrupting_step)
        with pytest.raises(KeyboardInterrupt):
            fit(cut, Probe)
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 1
    summary = fit(replace(cut, resume=True), Probe)
    full, resumed = weights(tmp_path / "full" / "last.pt"), weights(tmp_path / "cut" / "last.pt")
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    assert rows(tmp_path / "cut") == rows(tmp_path / "full")
    assert [r["epoch"] for r in rows(tmp_path / "cut")] == ["1", "2", "3"]
    assert summary["epochs"] == 3 and 0 <= summary["test_accuracy"] <= 1


def test_warmup_rises_per_step_across_epochs_then_follows_the_schedule(monkeypatch):
    seen = []
    original = torch.optim.Adam.step

    def recording_step(self, *a, **kw):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *a, **kw)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    args = ProbeArgs(epochs=2, lr_warmup=10, lr_schedule="constant", batch_size=16, out=None)
    args = replace(args, lr_scaling="linear", lr_reference_batch=8)  # lr 0.05 * 16 / 8
    fit(args, Probe)
    expected = [0.1 * min(1.0, (t + 1) / 10) for t in range(6)]  # 3 steps per epoch
    assert seen == pytest.approx(expected)


def test_old_checkpoints_resume_while_new_flags_keep_their_defaults(tmp_path):
    args = ProbeArgs(epochs=1, out=str(tmp_path))
    fit(args, Probe)
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    for name in ("lr_warmup", "lr_scaling", "lr_reference_batch", "max_grad_norm"):
        del saved["args"][name]  # as written before these flags existed
    del saved["best"]
    torch.save(saved, tmp_path / "last.pt")
    fit(replace(args, resume=True), Probe)  # accepted: the flags are at their defaults
    with pytest.raises(CheckpointError, match="lr_warmup: 0 -> 3"):
        fit(replace(args, resume=True, lr_warmup=3), Probe)
    del saved["optimizer"]
    torch.save(saved, tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="lacks \\['optimizer'\\]"):
        fit(replace(args, resume=True), Probe)


def test_a_run_reports_every_path_it_wrote_and_none_without_out(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    fit(ProbeArgs(epochs=1, out=str(out), tensorboard=True), Probe)
    printed = capsys.readouterr().out.splitlines()
    written = [line.removeprefix("wrote ") for line in printed if line.startswith("wrote ")]
    names = ("last.pt", "best.pt", "metrics.csv", "tensorboard/", "results.json")
    assert written == [f"{out}/{name}" for name in names]
    assert all(Path(path).exists() for path in written)
    monkeypatch.chdir(tmp_path / "run")
    before = sorted(Path(".").rglob("*"))
    fit(ProbeArgs(epochs=1, out=None), Probe)
    assert sorted(Path(".").rglob("*")) == before
    assert "wrote" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("main", "argv", "message"),
    [
        (ram_main, ["--env", "NoSuchEnv-v0"], "unknown env id"),
        (ram_main, ["--batch-size", "0"], "--batch-size must be >= 1"),
        (ram_main, ["--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
        (ram_main, ["--reward", "nosuch"], "reward"),
        (eig_main, ["--env", "NoSuchEnv-v0"], "unknown env id"),
        (eig_main, ["--phase", "2", "--split", "test[:64]"], "--init-from"),
        (main_cnn, ["--env", "NoSuchEnv-v0"], "unknown env id"),
        (main_ppo, ["--env", "NoSuchEnv-v0"], "unknown env id"),
        (explain_main, ["--checkpoint", "nothing.pt"], "no checkpoint"),
    ],
)
def test_bad_arguments_are_one_line_and_create_no_output(tmp_path, capsys, main, argv, message):
    out = tmp_path / "never"
    sb3 = main is main_ppo  # its --out is the model file
    quiet = "--no-verbose" if sb3 else "--no-progress"
    assert main([*argv, "--out", str(out / "model.zip" if sb3 else out), quiet]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
