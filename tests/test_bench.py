"""The benchmark runner: a grid end to end, resume after an interruption, failures, Ray."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from agents.benchmark import cli as bench_cli
from agents.benchmark.cells import CellResult, CellSpec
from agents.benchmark.cli import main as bench_main
from agents.benchmark.registry import register_agent
from agents.benchmark.report import markdown_table, summarize
from agents.benchmark.runner import ResultsLog, run_grid
from glimpse_env.commands.cli import main as cli_main

CALLS: list[tuple[str, int]] = []


def fake_agent(env_id, seed, budget, env_kwargs, eval_kwargs) -> CellResult:
    """Instant: accuracy 0.1 * seed, a two-point curve."""
    CALLS.append((env_id, seed))
    curve = [
        {"env_steps": budget // 2, "accuracy": 0.1, "return": 0.1, "episodes": 4},
        {"env_steps": budget, "accuracy": 0.2, "return": 0.2, "episodes": 4},
    ]
    return CellResult(accuracy=0.1 * seed, mean_return=0.1 * seed, env_steps=budget,
                      train_time_s=0.5, curve=curve)  # fmt: skip


def broken_agent(env_id, seed, budget, env_kwargs, eval_kwargs) -> CellResult:
    raise ValueError(f"broken on seed {seed}")


def interrupting_agent(env_id, seed, budget, env_kwargs, eval_kwargs) -> CellResult:
    if seed == 1:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C during this cell
    return fake_agent(env_id, seed, budget, env_kwargs, eval_kwargs)


def saving_agent(env_id, seed, budget, env_kwargs, eval_kwargs, save_to=None) -> CellResult:
    """Like fake_agent, and writes SAVE_TO.txt when asked to keep its model."""
    result = fake_agent(env_id, seed, budget, env_kwargs, eval_kwargs)
    if save_to is None:
        return result
    Path(f"{save_to}.txt").parent.mkdir(parents=True, exist_ok=True)
    Path(f"{save_to}.txt").write_text(f"seed {seed}")
    return CellResult(**{**result.to_dict(), "info": {"model": f"{save_to}.txt"}})


register_agent("fake", fake_agent)
register_agent("broken", broken_agent)
register_agent("saver", saving_agent)


def grid(agent: str, seeds: int = 3) -> list[CellSpec]:
    return [CellSpec(agent, "GlimpseEnv-v0", seed, 100) for seed in range(seeds)]


def test_tiny_grid_end_to_end_writes_the_table(tmp_path, shared_data):
    out = tmp_path / "bench"
    code = cli_main(
        ["bench", "--agents", "chance,center", "--envs", "GlimpseEnv-v0", "--seeds", "1",
         "--budget", "1200", "--out", str(out), "--workers", "1", "--eval-episodes", "100",
         "--no-progress"],
    )  # fmt: skip
    assert code == 0
    records = ResultsLog(out / "results.jsonl").records()
    assert [(r["agent"], r["status"], r["eval_episodes"]) for r in records] == [
        ("chance", "ok", 100),
        ("center", "ok", 100),
    ]
    center = records[1]
    assert 0 < center["env_steps"] <= 1200 and center["curve"]
    report = (out / "results.md").read_text()
    assert "glimpse-env bench --agents chance,center" in report
    assert "| GlimpseEnv-v0 | center |" in report and "| GlimpseEnv-v0 | chance |" in report
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_after_an_interruption_skips_finished_cells(tmp_path):
    results = tmp_path / "results.jsonl"
    register_agent("flaky", interrupting_agent)
    with pytest.raises(KeyboardInterrupt):
        run_grid(grid("flaky"), results, workers=0, progress=False)
    assert [r["seed"] for r in ResultsLog(results).records()] == [0]  # cell 0 survived
    with results.open("a") as f:
        f.write('{"key": "torn')  # a line cut short by a crash

    register_agent("flaky", fake_agent)
    CALLS.clear()
    records = run_grid(grid("flaky"), results, workers=0, progress=False)
    assert [seed for _, seed in CALLS] == [1, 2]  # seed 0 was not trained again
    assert [(r["seed"], r["status"]) for r in records] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert len(ResultsLog(results).records()) == 3  # the torn line is skipped, not fatal

    CALLS.clear()
    run_grid(grid("flaky"), results, workers=0, progress=False)
    assert CALLS == []  # everything done: nothing runs


def test_a_failing_agent_is_recorded_and_the_rest_finish(tmp_path):
    results = tmp_path / "results.jsonl"
    specs = grid("broken", seeds=2) + grid("fake", seeds=2)
    records = run_grid(specs, results, workers=0, progress=False)
    assert [r["status"] for r in records] == ["failed", "failed", "ok", "ok"]
    assert records[1]["error"] == "ValueError: broken on seed 1"
    assert "broken_agent" in records[1]["traceback"]

    register_agent("broken", fake_agent)  # fixed: a rerun retries only the failed cells
    CALLS.clear()
    records = run_grid(specs, results, workers=0, progress=False)
    assert [r["status"] for r in records] == ["ok"] * 4 and len(CALLS) == 2
    register_agent("broken", broken_agent)


def test_summary_table_mean_and_std_over_seeds(tmp_path):
    records = run_grid(grid("fake", seeds=3), tmp_path / "r.jsonl", workers=0, progress=False)
    records.append({**records[0], "status": "failed", "key": "x", "accuracy": None})
    (row,) = summarize(records, ["fake"], ["GlimpseEnv-v0"])
    assert row.accuracy == pytest.approx((0.1, 0.1))  # seeds 0, 0.1, 0.2: sample std 0.1
    assert (row.ok, row.cells, row.steps_per_s) == (3, 4, pytest.approx(200.0))
    assert row.per_seed == ((0, 0.0), (1, 0.1), (2, 0.2))
    one = summarize(records[2:3], ["fake"], ["GlimpseEnv-v0"], seeds=3)[0]
    assert "| fake | 0.200 | 0.200 | 2: 0.200 | 100 | 200 |" in markdown_table([one])
    assert "| 1/3 |" in markdown_table([one])
    assert (
        "| GlimpseEnv-v0 | fake | 0.100 ± 0.100 | 0.100 ± 0.100 | 0: 0.000, 1: 0.100, 2: 0.200 "
        "| 100 | 200 |"
    ) in markdown_table([row])


def test_report_only_tables_the_recorded_cells_and_trains_nothing(tmp_path, shared_data):
    out = tmp_path / "bench"
    flags = ["--agents", "fake", "--envs", "GlimpseEnv-v0", "--budget", "100", "--out", str(out),
             "--workers", "0", "--no-progress"]  # fmt: skip
    CALLS.clear()
    assert bench_main([*flags, "--seeds", "2"]) == 0
    assert len(CALLS) == 2
    (out / "results.md").unlink()
    assert bench_main([*flags, "--seeds", "3", "--report-only"]) == 0
    assert len(CALLS) == 2  # seed 2 was not trained
    report = (out / "results.md").read_text()
    assert "| 0.050 ± 0.071 | 0.050 ± 0.071 | 0: 0.000, 1: 0.100 | 100 | 200 |" in report
    assert report.rstrip().count("| 2/3 |") == 1
    assert "--seeds 3" in report and "--report-only" not in report
    assert (out / "learning_curves.png").is_file()


def test_bench_refuses_bad_arguments(tmp_path, capsys):
    assert bench_main(["--budget", "0", "--out", str(tmp_path)]) == 2
    assert "--budget and --seeds must be >= 1" in capsys.readouterr().err


OFFLINE = ["--env-kwargs", '{"download": false}']  # a missing dataset fails at once


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--agents", "chance,nosuch"],
         "unknown agent 'nosuch'; known: ram, ppo, a2c, dqn, recurrent_ppo, random, center, "
         "chance"),
        (["--agents", "no.such.module:agent"], "agent 'no.such.module:agent' cannot be loaded"),
        (["--agents", "json:nosuch"], "agent 'json:nosuch' cannot be loaded"),
        (["--agents", ","], "--agents must name at least one"),
        (["--envs", "GlimpseEnv-v0,NoSuchEnv-v0"], "unknown env id 'NoSuchEnv-v0'"),
        (["--env-kwargs", '{"bogus": 1}'], "unknown GlimpseEnv argument(s) ['bogus']"),
        (["--env-kwargs", '{"reward": "nosuch"}'], "unknown reward 'nosuch'"),
        (["--env-kwargs", "{not json"], "--env-kwargs must be a JSON object"),
        (["--split", "valid"], "split must be 'train' or 'test'"),
        (["--eval-split", "train", *OFFLINE], "split 'train' not found"),
        (["--data-root", "/nonexistent/glimpse", *OFFLINE], "/nonexistent/glimpse"),
        (["--workers", "-1"], "--workers must be >= 0"),
        (["--eval-episodes", "0"], "--eval-episodes must be >= 1"),
        (["--threads", "0"], "--threads must be >= 1"),
    ],
)  # fmt: skip
def test_bad_arguments_stop_before_anything_starts(tmp_path, capsys, monkeypatch, flags, message):
    """One line naming what was expected, exit 2, no worker started and no folder written."""

    def no_grid(*args, **kwargs):
        raise AssertionError("run_grid started despite a bad argument")

    monkeypatch.setattr(bench_cli, "run_grid", no_grid)
    out = tmp_path / "bench"
    argv = ["--agents", "chance", "--envs", "GlimpseEnv-v0", "--seeds", "1", "--budget", "100",
            "--workers", "1", "--no-progress", "--out", str(out), *flags]  # fmt: skip
    assert bench_main(argv) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("glimpse-env bench: error: ") and message in printed.err
    one_line = "not found" not in printed.err  # a missing dataset's message lists its files
    assert printed.out == "" and (printed.err.count("\n") == 1 or not one_line)
    assert not out.exists()


def test_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert bench_main(["--agents", "chance", "--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_the_benchmark_modules_import_without_cycles():
    """The modules of agents.benchmark import one another (anywhere in them) without a cycle."""
    folder = Path(bench_cli.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[f"agents.benchmark.{path.stem}"] = {m for m in imported if m in graph or
                                                  m.startswith("agents.benchmark.")}  # fmt: skip

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, "import cycle: " + " -> ".join((*trail, module))
        for nxt in graph.get(module, ()):
            visit(nxt, (*trail, module))

    for module in graph:
        visit(module, ())


def test_grid_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("ray")
    results = tmp_path / "results.jsonl"
    specs = [
        CellSpec("chance", "GlimpseEnv-v0", 0, 100, {"split": "test[:100]"}, {"episodes": 50}),
        CellSpec("no.such.module:agent", "GlimpseEnv-v0", 0, 100),
    ]
    records = run_grid(specs, results, workers=2, ray="local", progress=False)
    assert [r["status"] for r in records] == ["ok", "failed"]
    assert records[0]["eval_episodes"] == 50 and "ModuleNotFoundError" in records[1]["error"]
    lines = results.read_text().splitlines()
    assert sorted(json.loads(line)["key"] for line in lines) == sorted(s.key for s in specs)


def test_save_models_keeps_the_models_of_agents_that_can_save(tmp_path, shared_data):
    out = tmp_path / "bench"
    flags = ["--agents", "saver,fake", "--envs", "GlimpseEnv-v0", "--seeds", "2", "--budget",
             "100", "--out", str(out), "--workers", "0", "--no-progress"]  # fmt: skip
    assert bench_main(flags) == 0
    assert not (out / "models").exists()  # not asked
    (out / "results.jsonl").unlink()
    assert bench_main([*flags, "--save-models"]) == 0
    saved = sorted(p.name for p in (out / "models").iterdir())
    assert saved == ["saver_GlimpseEnv-v0_seed0.txt", "saver_GlimpseEnv-v0_seed1.txt"]
    assert (out / "models" / saved[1]).read_text() == "seed 1"
    records = ResultsLog(out / "results.jsonl").records()
    assert [r["info"].get("model") for r in records] == [
        str(out / "models" / saved[0]), str(out / "models" / saved[1]), None, None
    ]  # fmt: skip
    spec = CellSpec("saver", "GlimpseEnv-v0", 0, 100)
    assert CellSpec("saver", "GlimpseEnv-v0", 0, 100, models_dir="m").key == spec.key  # resumes
    assert spec.model_path is None
    assert CellSpec("pkg.mod:f", "GlimpseEnv-v0", 2, 9, models_dir="m").model_path == str(
        Path("m") / "pkg.mod-f_GlimpseEnv-v0_seed2"
    )
