"""A running cell's progress: its learning-curve points reach a file and the grid's output."""

from __future__ import annotations

import functools
import json
import re
import time

import pytest

from agents.benchmark.agents import classifier_cell, sb3_cell
from agents.benchmark.cells import CellResult, CellSpec
from agents.benchmark.progress import (
    CellProgressFile,
    GridProgress,
    clear_running,
    progress_line,
    read_running,
    running_path,
)
from agents.benchmark.registry import register_agent
from agents.benchmark.runner import run_grid
from agents.evaluation import EvalProtocol
from agents.in_the_loop.bench import loop_cell
from agents.learning_curve import LearningCurve

STEP = 10  # env steps between the points of progress_agent


def progress_agent(env_id, seed, budget, env_kwargs, eval_kwargs, progress=None) -> CellResult:
    """A point every STEP env steps (a pause before each); records what its progress file held
    after each point (when it is handed a file)."""
    entered = time.time()
    curve = LearningCurve(interval=STEP, on_point=progress)
    seen = []
    for steps in range(STEP, budget + 1, STEP):
        time.sleep(float(env_kwargs.get("pause", 0.0)))
        curve.add(steps, correct=[steps % 20 == 0], returns=[1.0])
        path = getattr(progress, "path", None)
        if path is not None:
            saved = json.loads(open(path).read())
            seen.append([saved["key"], saved["point"]["env_steps"]])
    curve.finish(budget)
    return CellResult(accuracy=0.5, mean_return=0.5, env_steps=budget, curve=curve.points,
                      info={"seen": seen, "entered": entered,
                            "started_at": getattr(progress, "started_at", None)})  # fmt: skip


register_agent("progress_agent", progress_agent)


def running_lines(text: str) -> list[tuple[int, int]]:
    """``(env steps, percent)`` of each progress line printed."""
    return [
        (int(steps.replace(",", "")), int(percent))
        for steps, percent in re.findall(r"running \S+ on \S+ seed \d+: ([\d,]+) / [\d,]+ "
                                         r"env steps \((\d+)%\)", text)
    ]  # fmt: skip


def test_learning_curve_hands_each_new_point_to_on_point():
    points = []
    curve = LearningCurve(interval=100, on_point=points.append)
    curve.add(60, correct=[True, False], returns=[1.0, 0.0])
    assert points == []  # no point yet
    curve.add(120, correct=[True], returns=[1.0])
    curve.add(250, correct=[False], returns=[0.0])
    assert points == curve.points and len(points) == 2
    points[0]["accuracy"] = -1.0  # a copy: the listener cannot change the curve
    assert curve.points[0]["accuracy"] == pytest.approx(2 / 3)


def test_inline_grid_prints_a_line_per_tenth_of_the_budget(tmp_path, capsys):
    """20 points over the budget: ten lines, one per tenth, none repeated or skipped."""
    run_grid([CellSpec("progress_agent", "GlimpseEnv-v0", 0, 20 * STEP)], tmp_path / "r.jsonl",
             workers=0, progress=True)  # fmt: skip
    lines = running_lines(capsys.readouterr().out)
    assert [percent for _, percent in lines] == list(range(10, 101, 10))
    assert [steps for steps, _ in lines] == list(range(2 * STEP, 21 * STEP, 2 * STEP))
    assert not list((tmp_path / "running").glob("*.json"))  # removed once recorded


def test_a_worker_process_writes_the_file_the_grid_reads(tmp_path, capsys):
    spec = CellSpec("test_bench_progress:progress_agent", "GlimpseEnv-v0", 1, 10 * STEP,
                    env_kwargs={"pause": 0.4})  # fmt: skip
    (record,) = run_grid([spec], tmp_path / "r.jsonl", workers=1, progress=True)
    assert record["status"] == "ok", record.get("traceback")
    # in the worker, the file held each point as it came
    assert record["info"]["seen"] == [[spec.key, steps] for steps in range(STEP, 11 * STEP, STEP)]
    lines = running_lines(capsys.readouterr().out)  # polled once a second: some of the tenths
    percents = [percent for _, percent in lines]
    assert lines and percents == sorted(set(percents)) and all(p % 10 == 0 for p in percents)
    assert not running_path(tmp_path / "running", spec.key).exists()


def test_a_queued_cells_clock_starts_when_it_starts(tmp_path):
    """One worker, two cells: the second's progress file counts its minutes from its own
    start, not from the grid's (when it was queued)."""
    specs = [CellSpec("test_bench_progress:progress_agent", "GlimpseEnv-v0", seed, 5 * STEP,
                      env_kwargs={"pause": 0.2}) for seed in (0, 1)]  # fmt: skip
    first, second = run_grid(specs, tmp_path / "r.jsonl", workers=1, progress=False)
    assert second["info"]["started_at"] >= first["finished_at"]
    assert 0 <= second["info"]["entered"] - second["info"]["started_at"] < 1.0


def test_stale_files_of_this_grid_are_cleared_and_others_kept(tmp_path):
    """Files left by a killed run: this grid's cells' are gone before its first cell starts."""
    folder = tmp_path / "running"
    first = CellSpec("checks_stale", "GlimpseEnv-v0", 0, 2 * STEP)
    later = CellSpec("progress_agent", "GlimpseEnv-v0", 0, 2 * STEP)
    other = CellSpec("progress_agent", "GlimpseEnv-v0", 7, 2 * STEP)  # another run's cell
    folder.mkdir()
    for cell in (first, later, other):
        running_path(folder, cell.key).write_text("{}")

    def check(*args):
        assert not running_path(folder, later.key).exists()
        raise ValueError("checked")

    register_agent("checks_stale", check)
    records = run_grid([first, later], tmp_path / "r.jsonl", workers=0, progress=False)
    assert [r["status"] for r in records] == ["failed", "ok"]
    assert records[0]["error"] == "ValueError: checked"  # not the assertion
    assert [p.name for p in folder.iterdir()] == [running_path(folder, other.key).name]


def test_grid_progress_lines_and_silence(capsys):
    def snapshot(key, steps):
        return {"key": key, "agent": "a", "env_id": "E", "seed": 0, "budget": 1000,
                "started_at": 0.0, "updated_at": 120.0,
                "point": {"env_steps": steps, "accuracy": 0.25}}  # fmt: skip

    bar = GridProgress(total=2, enabled=True)
    for key, steps in [("x", 50), ("x", 100), ("y", 350), ("x", 150), ("x", 290), ("x", 1000)]:
        bar.cell_progress(snapshot(key, steps))
    bar.close()
    out = capsys.readouterr().out
    assert running_lines(out) == [(100, 10), (350, 35), (290, 29), (1000, 100)]
    assert "train accuracy 0.250 (2 min)" in out
    quiet = GridProgress(total=1, enabled=False)
    quiet.cell_progress(snapshot("x", 1000))
    quiet.close()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "cell",
    [
        functools.partial(classifier_cell, "center"),
        functools.partial(sb3_cell, "ppo"),
        functools.partial(loop_cell, "ppo_loop"),
    ],
    ids=["center", "ppo", "ppo_loop"],
)
def test_built_in_cells_report_their_curve_as_they_train(shared_data, cell):
    points = []
    result = cell("GlimpseEnv-v0", 0, 4_096, {"split": "test[:300]"},
                  EvalProtocol(episodes=20).to_dict(), progress=points.append)  # fmt: skip
    assert len(points) >= 5
    assert points[:-1] == result.curve[: len(points) - 1]  # the last may join the final point
    steps = [p["env_steps"] for p in points]
    assert steps == sorted(steps) and steps[-1] <= 4_096


def test_progress_file_names_and_contents(tmp_path):
    key = CellSpec("pkg.mod:agent", "GlimpseEnv-v0", 1, 500).key
    assert running_path(tmp_path, key) == tmp_path / (
        "pkg.mod-agent_GlimpseEnv-v0_seed1_budget500_" + key.rsplit("/", 1)[1] + ".json"
    )
    spec = CellSpec("fake", "GlimpseEnv-v0", 2, 500)
    to_file = CellProgressFile.for_cell(spec, tmp_path)
    point = {"env_steps": 100, "accuracy": 0.5, "return": 0.5, "episodes": 8}
    to_file(point)
    saved = json.loads(running_path(tmp_path, spec.key).read_text())
    assert {k: saved[k] for k in ("key", "agent", "env_id", "seed", "budget", "point")} == {
        "key": spec.key, "agent": "fake", "env_id": "GlimpseEnv-v0", "seed": 2, "budget": 500,
        "point": point,
    }  # fmt: skip
    assert saved["started_at"] <= saved["updated_at"] <= time.time()
    # a missing file is left out, the others still read
    missing = CellSpec("fake", "GlimpseEnv-v0", 3, 500).key
    assert read_running(tmp_path, [missing, spec.key]) == [saved]
    clear_running(tmp_path, [missing, spec.key])
    assert not list(tmp_path.iterdir())


def test_progress_line_minutes_percent_and_a_budget_of_one():
    snapshot = {"agent": "a", "env_id": "E", "seed": 0, "budget": 1, "started_at": 1000.0,
                "updated_at": 1090.0, "point": {"env_steps": 1, "accuracy": 1.0}}  # fmt: skip
    assert progress_line(snapshot).endswith(
        ": 1 / 1 env steps (100%), train accuracy 1.000 (2 min)"
    )
    bar = GridProgress(total=1, enabled=False)
    bar.cell_progress({**snapshot, "key": "k"})
    assert bar._tenths == {"k": 10}


def test_grid_progress_counts_and_lines_of_finished_cells(tmp_path, capsys):
    records = run_grid(
        [CellSpec("progress_agent", "GlimpseEnv-v0", 0, STEP), CellSpec("nosuch", "E", 0, STEP)],
        tmp_path / "r.jsonl", workers=0, progress=True,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "ok     progress_agent on GlimpseEnv-v0 seed 0: accuracy 0.5000, return 0.5000 (" in out
    assert f"FAILED nosuch on E seed 0: {records[1]['error']}" in out
    bar = GridProgress(total=3, skipped=1, enabled=False)
    assert (bar.done, bar.failed, bar.running) == (1, 0, 0)
    bar.finished(records[1])
    bar.finished(records[0])  # an ok cell after a failed one: still one failure
    assert (bar.done, bar.failed) == (3, 1)
    bar.close()


def test_a_cell_past_its_budget_prints_100_percent_once(capsys):
    bar = GridProgress(total=1, enabled=True)
    for steps in (1000, 1100):  # a curve's last point can pass the budget
        bar.cell_progress({"key": "k", "agent": "a", "env_id": "E", "seed": 0, "budget": 1000,
                           "started_at": 0.0, "updated_at": 60.0,
                           "point": {"env_steps": steps, "accuracy": 0.5}})  # fmt: skip
    bar.close()
    assert [percent for _, percent in running_lines(capsys.readouterr().out)] == [100]


def test_the_bar_shows_done_running_and_failed(capsys):
    """tqdm sorts the postfix's keys."""
    default = GridProgress(total=3)
    assert (default.enabled, default.done, default.bar.total) == (True, 0, 3)
    default.close()
    bar = GridProgress(total=4, skipped=2, enabled=True)
    assert bar.bar.postfix == "done=2, failed=0, running=0" and bar.bar.n == 2
    assert str(bar.bar).startswith("cells:  50%|") and " 2/4 [" in str(bar.bar)
    assert "cell/s" in str(bar.bar)
    bar.set_running(2)
    assert bar.bar.postfix == "done=2, failed=0, running=2"
    bar.finished({"status": "failed", "agent": "a", "env_id": "E", "seed": 0, "error": "E: x"})
    assert bar.bar.postfix == "done=3, failed=1, running=2" and bar.bar.n == 3
    bar.close()
