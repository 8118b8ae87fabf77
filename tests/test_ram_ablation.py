"""The RAM ablation (``python -m agents.ram.ablation``): each variant changes what it says, runs
are evaluated and tabled, and a finished ablation is not trained again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.ram.ablation import (
    BASE,
    VARIANTS,
    AblationRow,
    Args,
    _chosen,
    main,
    slug,
    table_markdown,
    variant_argv,
)
from agents.ram.train import Args as TrainArgs
from glimpse_env.commands.cli_args import parse_args


def parsed(name: str, epochs: int = 10) -> TrainArgs:
    argv = variant_argv(name, "GlimpseEnv-v0", epochs, [1, 2], Path("out"))
    return parse_args(TrainArgs, argv, prog="glimpse-env train ram")


def test_each_variant_changes_its_choice_and_nothing_else():
    base = parsed("base")
    assert (base.epochs, base.batch_size, base.location_std, base.core) == (10, 256, 0.1, "rnn")
    assert (base.reinforce_to_core, base.lr_schedule, base.seeds) == (False, "cosine", "1,2")
    assert base.out == "out/base/seed{seed}" and base.resume
    expected = {
        "schedule x2": {"epochs": 20},
        "constant learning rate": {"lr_schedule": "constant"},
        "batch 128": {"batch_size": 128},
        "batch 1024 + sqrt lr scaling + warm-up": {
            "batch_size": 1024, "lr_scaling": "sqrt", "lr_reference_batch": 256, "lr_warmup": 100,
        },
        "location std 0.05": {"location_std": 0.05},
        "location std 0.2": {"location_std": 0.2},
        "location std 0.3": {"location_std": 0.3},
        "location std 0.4": {"location_std": 0.4},
        "LSTM core": {"core": "lstm"},
        "REINFORCE into the core": {"reinforce_to_core": True},
        "core 512 wide": {"hidden_size": 512},
    }  # fmt: skip
    assert set(expected) == set(VARIANTS) - {"base"}
    for name, changes in expected.items():
        args = parsed(name)
        differs = {
            key: getattr(args, key)
            for key in vars(base)
            if key != "out" and getattr(args, key) != getattr(base, key)
        }
        assert differs == changes, name
        assert args.out == f"out/{slug(name)}/seed{{seed}}"


def test_base_is_the_full_runs_recipe():
    assert BASE[BASE.index("--batch-size") + 1] == "256"
    assert BASE[BASE.index("--learning-rate") + 1] == "1e-3"
    assert BASE[BASE.index("--reward") + 1] == "correct"


def test_table_gives_means_and_changes_against_base():
    rows = [AblationRow("base", {1: 10.0, 2: 12.0}), AblationRow("LSTM core", {1: 8.0, 2: 9.0})]
    table = table_markdown(rows, "GlimpseEnv-cluttered60-v0", 100)
    assert "| base | 1: 10.00, 2: 12.00 | 11.00 | – |" in table
    assert "| LSTM core | 1: 8.00, 2: 9.00 | 8.50 | -2.50 |" in table
    assert "100-epoch schedule" in table


def test_ablation_trains_evaluates_tables_and_resumes(tmp_path, strip_root, monkeypatch, capsys):
    monkeypatch.setenv("GLIMPSE_ENV_DATA", str(strip_root))
    out = tmp_path / "ablation"
    argv = [
        "--env", "GlimpseEnv-v0", "--epochs", "1", "--seeds", "3",
        "--variants", "base,location std 0.2", "--out", str(out),
        "--split", "train[:64]", "--test-split", "test[:40]",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "location-std-0.2" / "seed3.eval.json").read_text())
    assert report["split"] == "test[:40]" and report["results"][0]["mode"] == "deterministic"
    error = 100.0 * report["results"][0]["error"]
    table = (out / "ablation.md").read_text()
    assert f"| location std 0.2 | 3: {error:.2f} | {error:.2f} |" in table
    assert "| base | 3: " in table
    checkpoint = out / "base" / "seed3" / "last.pt"
    stamp = checkpoint.stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 0
    assert checkpoint.stat().st_mtime_ns == stamp  # evaluated runs are not trained again
    assert "== base" not in capsys.readouterr().out
    assert (out / "ablation.md").read_text() == table


def test_unknown_variant_is_a_one_line_error(tmp_path, capsys):
    assert main(["--variants", "base,bigger", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--variants: unknown ['bigger']" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_slugs_are_folder_names(name):
    assert slug(name) and "/" not in slug(name) and " " not in slug(name)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_is_selectable_by_name_and_by_folder_name(name):
    # --variants is comma-separated, so a comma inside a name would make it unselectable
    assert _chosen(Args(variants=name)) == [name]
    assert _chosen(Args(variants=f"base, {slug(name)}")) == ["base", name]
