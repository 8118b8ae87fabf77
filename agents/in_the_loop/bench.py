"""The agents that learn where to look as benchmark cells (:mod:`agents.benchmark`).

:func:`loop_cell` trains one with its defaults
(:data:`agents.in_the_loop.algos.LOOP_AGENTS`) within the cell's budget and evaluates the pair
with the cell's protocol.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agents.benchmark.cells import CellResult
from agents.learning_curve import Point

__all__ = ["loop_cell"]


def loop_cell(
    agent: str,
    env_id: str,
    seed: int,
    budget: int,
    env_kwargs: dict[str, Any],
    eval_kwargs: dict[str, Any],
    save_to: str | None = None,
    progress: Callable[[Point], None] | None = None,
) -> CellResult:
    """Train ``agent`` for ``budget`` env steps (whole rollouts for on-policy ones), evaluate;
    ``save_to``: save the pair there (``.zip``); ``progress`` gets each learning-curve point."""
    from agents.benchmark.agents import evaluate_cell, make_eval_core, saved_model_info
    from agents.in_the_loop.algos import LOOP_AGENTS
    from agents.in_the_loop.train import train_loop

    run = train_loop(agent, env_id, budget, seed, env_kwargs, on_point=progress)
    spec = LOOP_AGENTS[agent]
    info = {
        "algo": spec.algo_class.__name__,
        "kind": spec.kind,
        "policy": spec.policy,
        "action": spec.action,
        "hyperparams": json.loads(json.dumps(spec.hyperparams, default=str)),
        "classifier": spec.classifier.to_dict() if spec.kind == "loop" else None,
        **saved_model_info(run, save_to, eval_kwargs),
    }
    core = make_eval_core(env_id, env_kwargs, eval_kwargs)
    return evaluate_cell(
        run.policy, core, eval_kwargs, run.env_steps, run.train_time_s, run.curve.points, info
    )
