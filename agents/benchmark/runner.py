"""Run a grid of cells in worker processes (or on Ray), one JSON line per finished cell.

The results file is append-only JSON lines: each finished cell is written, flushed and fsynced
as it finishes, so an interrupted run loses no finished cell, and running the same grid again
skips the cells already recorded ``ok`` (failed ones run again). A failing cell is recorded with
its error and traceback; the other cells go on. While a cell trains, its latest learning-curve
point is in ``running/`` beside the results file (:mod:`agents.benchmark.progress`).

Executors: ``workers=0`` runs the cells one by one in this process; ``workers>=1`` in a
``ProcessPoolExecutor`` of that many spawned processes; ``ray="local"`` (a Ray instance started
here) or ``ray="ADDRESS"`` (a running cluster) as Ray tasks of one CPU each.
"""

from __future__ import annotations

import concurrent.futures as futures
import inspect
import json
import multiprocessing
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from agents.benchmark.cells import CellResult, CellSpec
from agents.benchmark.progress import (
    CellProgressFile,
    GridProgress,
    clear_running,
    read_running,
)
from agents.benchmark.registry import resolve_agent
from agents.learning_curve import Point

__all__ = ["ResultsLog", "latest_records", "run_cell", "run_grid"]

Record = dict[str, Any]


def run_cell(spec: CellSpec, progress: Callable[[Point], None] | None = None) -> Record:
    """Train and evaluate one cell; never raises for the agent's errors (they are recorded).

    ``progress`` is handed to agents that take it (called with each learning-curve point)."""
    torch.set_num_threads(max(int(spec.threads), 1))
    started = time.perf_counter()
    try:
        train_and_evaluate = resolve_agent(spec.agent)
        parameters = inspect.signature(train_and_evaluate).parameters
        save: dict[str, Any] = {}
        if spec.model_path is not None and "save_to" in parameters:
            save["save_to"] = spec.model_path
        if progress is not None and "progress" in parameters:
            save["progress"] = progress
        result = train_and_evaluate(
            spec.env_id,
            spec.seed,
            spec.budget,
            dict(spec.env_kwargs),
            dict(spec.eval_kwargs),
            **save,
        )
        if not isinstance(result, CellResult):
            raise TypeError(
                f"agent {spec.agent!r} returned {type(result).__name__}, not CellResult"
            )
    except Exception as err:
        result = CellResult(
            status="failed", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()
        )
    return _identify(result, spec, time.perf_counter() - started).to_dict()


def _identify(result: CellResult, spec: CellSpec, wall_time_s: float) -> CellResult:
    return replace(
        result,
        agent=spec.agent,
        env_id=spec.env_id,
        seed=spec.seed,
        budget=spec.budget,
        key=spec.key,
        wall_time_s=wall_time_s,
        finished_at=time.time(),
        host=socket.gethostname(),
    )


def _failed_record(spec: CellSpec, err: BaseException) -> Record:
    """A cell whose worker died (or whose task failed outside :func:`run_cell`)."""
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    failed = CellResult(status="failed", error=f"{type(err).__name__}: {err}", traceback=tb)
    return _identify(failed, spec, 0.0).to_dict()


class ResultsLog:
    """The append-only JSON-lines results file of a grid.

    Args:
        path: the ``.jsonl`` file (created with its folder on the first append).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def records(self) -> list[Record]:
        """Every complete record, in file order (a torn last line, from a crash, is skipped)."""
        if not self.path.is_file():
            return []
        records = []
        for number, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"{self.path}:{number}: skipping a torn line", file=sys.stderr)
        return records

    def append(self, record: Record) -> None:
        """Write one record as a line, flushed and fsynced before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # a torn line from a crash: end it first
                    f.write(b"\n")
            f.write((json.dumps(record) + "\n").encode())
            f.flush()
            os.fsync(f.fileno())


def latest_records(records: Iterable[Record], specs: Sequence[CellSpec]) -> list[Record]:
    """The last record of each cell of ``specs`` (an ``ok`` one over a later failure)."""
    wanted = {spec.key for spec in specs}
    latest: dict[str, Record] = {}
    for record in records:
        key = record.get("key")
        if key not in wanted:
            continue
        if record.get("status") == "ok" or latest.get(key, {}).get("status") != "ok":
            latest[key] = record
    return [latest[spec.key] for spec in specs if spec.key in latest]


def _run_inline(
    specs: Sequence[CellSpec],
    report: Callable[[Record], None],
    progress: GridProgress,
    running: Path,
) -> None:
    for spec in specs:
        progress.set_running(1)
        to_file = CellProgressFile.for_cell(spec, running)

        def show(point: Point, to_file: CellProgressFile = to_file) -> None:
            to_file(point)
            progress.cell_progress(to_file.snapshot(point))

        report(run_cell(spec, show))
    progress.set_running(0)


def _run_cell_with_file(spec: CellSpec, running: str) -> Record:
    """Worker side: the cell's progress file starts its clock when the cell starts, not when
    the cell was queued."""
    return run_cell(spec, CellProgressFile.for_cell(spec, running))


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the runner dies (no orphans burning CPU)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(2.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _run_processes(
    specs: Sequence[CellSpec],
    workers: int,
    report: Callable[[Record], None],
    progress: GridProgress,
    running: Path,
) -> None:
    context = multiprocessing.get_context("spawn")
    pool = futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        pending = {pool.submit(_run_cell_with_file, spec, str(running)): spec for spec in specs}
        while pending:
            progress.set_running(min(sum(f.running() for f in pending), workers))
            for snapshot in read_running(running, [spec.key for spec in pending.values()]):
                progress.cell_progress(snapshot)
            finished, _ = futures.wait(pending, timeout=1.0, return_when=futures.FIRST_COMPLETED)
            for future in finished:
                spec = pending.pop(future)
                try:
                    record = future.result()
                except Exception as err:  # the worker process died (e.g. killed for memory)
                    record = _failed_record(spec, err)
                report(record)
    finally:  # on Ctrl-C, do not wait for the cells in flight (they are not recorded)
        pool.shutdown(wait=False, cancel_futures=True)
    progress.set_running(0)


def _run_ray(
    specs: Sequence[CellSpec],
    address: str,
    workers: int,
    report: Callable[[Record], None],
    progress: GridProgress,
) -> None:
    try:
        import ray
    except ImportError as err:
        raise RuntimeError(
            "--ray needs Ray: pip install 'glimpse-env[distributed]' (ray>=2.9)"
        ) from err
    started_here = not ray.is_initialized()
    if started_here:
        if address == "local":
            ray.init(num_cpus=max(workers, 1), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote_cell = ray.remote(num_cpus=1)(run_cell)
        pending = {remote_cell.remote(spec): spec for spec in specs}
        slots = int(ray.cluster_resources().get("CPU", 1))
        while pending:
            progress.set_running(min(len(pending), slots))
            finished, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in finished:
                spec = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as err:  # the task or its worker failed outside run_cell
                    record = _failed_record(spec, err)
                report(record)
        progress.set_running(0)
    finally:
        if started_here:
            ray.shutdown()


def run_grid(
    specs: Sequence[CellSpec],
    results: str | os.PathLike,
    workers: int = 1,
    ray: str | None = None,
    progress: bool = True,
) -> list[Record]:
    """Run the cells of ``specs`` not yet recorded ``ok`` in ``results``; append each as it ends.

    Args:
        specs: the grid (keys must be unique).
        results: the JSON-lines file (read to resume, appended to).
        workers: parallel worker processes; 0 runs in this process; with ``ray``, the CPUs of
            a local Ray instance.
        ray: None, ``"local"`` or a Ray cluster address.
        progress: show the progress bar and a line per cell.

    Returns:
        The latest record of every cell of the grid (see :func:`latest_records`).
    """
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError("the grid has duplicate cells")
    log = ResultsLog(results)
    done = {r["key"] for r in log.records() if r.get("status") == "ok"}
    todo = [spec for spec in specs if spec.key not in done]
    bar = GridProgress(len(specs), len(specs) - len(todo), progress)
    running = Path(results).parent / "running"
    clear_running(running, [spec.key for spec in todo])  # left by a run that was killed

    def report(record: Record) -> None:
        log.append(record)
        clear_running(running, [record["key"]])
        bar.finished(record)

    try:
        if not todo:
            pass
        elif ray is not None:
            _run_ray(todo, ray, workers, report, bar)
        elif workers <= 0:
            _run_inline(todo, report, bar, running)
        else:
            _run_processes(todo, min(workers, len(todo)), report, bar, running)
    finally:
        bar.close()
    return latest_records(log.records(), specs)
