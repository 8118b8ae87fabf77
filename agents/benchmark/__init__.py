"""The benchmark runner: agents x envs x seeds, each cell trained within one env-step budget.

- :mod:`~agents.benchmark.cells`: :class:`CellSpec` and :class:`CellResult`; an agent is
  ``train_and_evaluate(env_id, seed, budget, env_kwargs, eval_kwargs) -> CellResult``.
- :mod:`~agents.benchmark.agents`: the built-in agents (SB3, reference policies, chance, RAM).
- :mod:`~agents.benchmark.registry`: the table of agents (:data:`AGENTS`,
  :func:`register_agent`, :func:`resolve_agent`).
- :mod:`~agents.benchmark.runner`: :func:`run_grid` in worker processes or on Ray, results
  appended to a JSON-lines file cell by cell (resumable).
- :mod:`~agents.benchmark.report`: the markdown table and the learning-curve plots.
- :mod:`~agents.benchmark.cli`: ``glimpse-env bench``.
"""

from agents.benchmark.cells import CellResult, CellSpec
from agents.benchmark.registry import AGENTS, register_agent, resolve_agent
from agents.benchmark.runner import ResultsLog, run_cell, run_grid

__all__ = [
    "AGENTS",
    "CellResult",
    "CellSpec",
    "ResultsLog",
    "register_agent",
    "resolve_agent",
    "run_cell",
    "run_grid",
]
