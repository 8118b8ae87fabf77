"""A benchmark cell (agent x env x seed) and what it produces.

An agent is a function ``train_and_evaluate(env_id, seed, budget, env_kwargs, eval_kwargs) ->
CellResult``: train on ``gym.make(env_id, **env_kwargs)`` for at most ``budget`` env steps with
``seed``, then evaluate the deterministic policy with the protocol ``eval_kwargs`` (the fields of
:class:`agents.evaluation.EvalProtocol`). An agent whose function also takes a ``save_to``
keyword saves what it trained there (the path without its suffix) when the grid keeps models
(``glimpse-env bench --save-models``), and names the file in ``info["model"]``. An agent whose
function takes a ``progress`` keyword calls it with each point of its learning curve as training
goes (``{"env_steps", "accuracy", "return", "episodes"}``): the runner shows a running cell's
progress from these (:mod:`agents.benchmark.progress`). The table of
agents is in :mod:`agents.benchmark.registry`, the built-in ones in :mod:`agents.benchmark.agents`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CellResult", "CellSpec", "TrainAndEvaluate"]


@dataclass(frozen=True)
class CellResult:
    """One finished (or failed) cell: the line it adds to the results file.

    The agent's function fills the metrics; the runner fills who, where, status and wall time.

    Attributes:
        accuracy: test accuracy of the final guess (deterministic policy).
        mean_return: mean undiscounted test return per episode.
        eval_episodes: test episodes played.
        env_steps: training env steps taken (at most the budget, up to one rollout).
        train_time_s: wall time of training.
        eval_time_s: wall time of the evaluation.
        curve: training learning curve, ``[{"env_steps", "accuracy", "return", "episodes"}]``.
        info: agent-specific facts (hyperparameters, epochs, ...).
        agent, env_id, seed, budget, key: the cell.
        status: ``"ok"`` or ``"failed"``.
        error: ``"Type: message"`` of a failure; traceback: its traceback.
        wall_time_s: wall time of the whole cell; finished_at: Unix time; host: where it ran.
    """

    accuracy: float | None = None
    mean_return: float | None = None
    eval_episodes: int = 0
    env_steps: int = 0
    train_time_s: float = 0.0
    eval_time_s: float = 0.0
    curve: list[dict[str, float | int]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    agent: str = ""
    env_id: str = ""
    seed: int = 0
    budget: int = 0
    key: str = ""
    status: str = "ok"
    error: str | None = None
    traceback: str | None = None
    wall_time_s: float = 0.0
    finished_at: float = 0.0
    host: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TrainAndEvaluate = Callable[[str, int, int, dict[str, Any], dict[str, Any]], CellResult]
"""``(env_id, seed, budget, env_kwargs, eval_kwargs) -> CellResult``."""


@dataclass(frozen=True)
class CellSpec:
    """What one cell runs.

    Attributes:
        agent: a registered name or ``"module:function"``.
        env_id: the env id.
        seed: the training seed.
        budget: training env steps.
        env_kwargs: the training env's kwargs (over the id's preset).
        eval_kwargs: the evaluation protocol (:class:`agents.evaluation.EvalProtocol` fields).
        threads: torch CPU threads in the worker.
        models_dir: where agents that can save their trained model do (None: nowhere); not
            part of the cell's key.
    """

    agent: str
    env_id: str
    seed: int
    budget: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_kwargs: dict[str, Any] = field(default_factory=dict)
    threads: int = 1
    models_dir: str | None = None

    @property
    def key(self) -> str:
        """``agent/env/seed/budget/fingerprint``: equal keys mean the same experiment."""
        config = json.dumps([self.env_kwargs, self.eval_kwargs], sort_keys=True, default=str)
        digest = hashlib.sha1(config.encode()).hexdigest()[:10]
        return f"{self.agent}/{self.env_id}/seed{self.seed}/budget{self.budget}/{digest}"

    @property
    def model_path(self) -> str | None:
        """``MODELS_DIR/AGENT_ENV_seedSEED`` (no suffix: the agent adds its own), or None."""
        if self.models_dir is None:
            return None
        name = f"{self.agent.replace(':', '-')}_{self.env_id}_seed{self.seed}"
        return str(Path(self.models_dir) / name)
