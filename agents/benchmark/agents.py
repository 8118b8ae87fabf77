"""The benchmark's built-in agents: SB3 baselines, reference policies, chance, RAM.

Every entry trains within the cell's env-step budget and is evaluated by
:func:`evaluate_cell` with the same protocol (:class:`agents.evaluation.EvalProtocol`).

============== ==================================================================================
ppo, a2c,      :func:`agents.sb3.train_sb3` with the defaults of :data:`agents.sb3.ALGOS`
dqn,           (one batched :class:`~glimpse_env.faces.sb3.GlimpseSB3VecEnv` of 16 envs)
recurrent_ppo
random         random locations, guess of a GRU classifier trained on the glimpses they give
center         centre locations, guess of a GRU classifier trained on the glimpses they give
chance         random locations, random guess (no training)
ram            :func:`agents.ram.train.train` for ``budget // (images * T)`` epochs (at least 1)
sac_loop, ... :func:`agents.in_the_loop.train.train_loop` with the defaults of
sac_hybrid ... :data:`agents.in_the_loop.algos.LOOP_AGENTS` (they learn only where to look)
============== ==================================================================================
"""

from __future__ import annotations

import csv
import functools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.benchmark.cells import CellResult, TrainAndEvaluate
from agents.benchmark.report import write_atomic
from agents.evaluation import EvalProtocol, PredictPolicy, evaluate_policy, make_core
from agents.in_the_loop.bench import loop_cell
from agents.in_the_loop.names import DESCRIPTIONS as LOOP_DESCRIPTIONS
from agents.learning_curve import Point
from glimpse_env.core.batched import GlimpseCore

__all__ = ["BUILTIN_AGENTS", "evaluate_cell", "make_eval_core", "saved_model_info"]


def make_eval_core(
    env_id: str, env_kwargs: dict[str, Any], eval_kwargs: dict[str, Any]
) -> GlimpseCore:
    """The test env's core for a cell: the training kwargs under the evaluation protocol."""
    protocol = EvalProtocol.from_dict(eval_kwargs)
    return make_core(env_id, **protocol.env_kwargs(env_kwargs))


def evaluate_cell(
    policy: PredictPolicy,
    core: GlimpseCore,
    eval_kwargs: dict[str, Any],
    env_steps: int = 0,
    train_time_s: float = 0.0,
    curve: list[dict[str, Any]] | None = None,
    info: dict[str, Any] | None = None,
) -> CellResult:
    """Evaluate ``policy`` on the test ``core`` with the protocol and fill a :class:`CellResult`."""
    protocol = EvalProtocol.from_dict(eval_kwargs)
    result = evaluate_policy(policy, core, protocol.episodes, protocol.seed, protocol.batch_size)
    return CellResult(
        accuracy=result.accuracy,
        mean_return=result.mean_return,
        eval_episodes=result.episodes,
        env_steps=env_steps,
        train_time_s=train_time_s,
        eval_time_s=result.eval_time_s,
        curve=list(curve or []),
        info=dict(info or {}),
    )


def saved_model_info(run: Any, save_to: str | None, eval_kwargs: dict[str, Any]) -> dict[str, str]:
    """``{"model": path}`` after ``run.save(save_to, test split)``; ``{}`` without ``save_to``."""
    if save_to is None:
        return {}
    return {"model": str(run.save(save_to, EvalProtocol.from_dict(eval_kwargs).split))}


def sb3_cell(
    algo: str,
    env_id: str,
    seed: int,
    budget: int,
    env_kwargs: dict[str, Any],
    eval_kwargs: dict[str, Any],
    save_to: str | None = None,
    progress: Callable[[Point], None] | None = None,
) -> CellResult:
    """An SB3 algorithm of :data:`agents.sb3.ALGOS` with its default hyperparameters."""
    from agents.sb3.algos import ALGOS
    from agents.sb3.train import train_sb3

    run = train_sb3(algo, env_id, budget, seed, env_kwargs, on_point=progress)
    spec = ALGOS[algo]
    info = {
        "algo": spec.algo_class.__name__,
        "policy": spec.policy,
        "action": run.metadata.action,
        "frame_stack": run.metadata.frame_stack,
        "hyperparams": json.loads(json.dumps(spec.hyperparams, default=str)),
        **saved_model_info(run, save_to, eval_kwargs),
    }
    core = make_eval_core(env_id, env_kwargs, eval_kwargs)
    return evaluate_cell(
        run.policy, core, eval_kwargs, run.env_steps, run.train_time_s, run.curve.points, info
    )


def classifier_cell(
    rule: str,
    env_id: str,
    seed: int,
    budget: int,
    env_kwargs: dict[str, Any],
    eval_kwargs: dict[str, Any],
    progress: Callable[[Point], None] | None = None,
) -> CellResult:
    """Look by a fixed ``rule`` (random or center); guess with a classifier of those glimpses."""
    from agents.glimpse_classifier import train_glimpse_classifier
    from agents.heuristics import CenterPolicy, ClassifierGuessPolicy, RandomPolicy

    train_core = make_core(env_id, **env_kwargs)
    run = train_glimpse_classifier(train_core, rule, budget, seed, on_point=progress)
    core = make_eval_core(env_id, env_kwargs, eval_kwargs)
    n, early_stop = core.num_classes, core.config.early_stop
    looker = RandomPolicy(n, early_stop, seed=seed) if rule == "random" else CenterPolicy(n)
    policy = ClassifierGuessPolicy(looker, run.classifier)
    return evaluate_cell(
        policy,
        core,
        eval_kwargs,
        run.env_steps,
        run.train_time_s,
        run.curve.points,
        run.hyperparams,
    )


def chance_cell(
    env_id: str,
    seed: int,
    budget: int,
    env_kwargs: dict[str, Any],
    eval_kwargs: dict[str, Any],
) -> CellResult:
    """Random locations and a random guess: no training, the chance level."""
    from agents.heuristics import ChancePolicy

    core = make_eval_core(env_id, env_kwargs, eval_kwargs)
    policy = ChancePolicy(core.num_classes, core.config.early_stop, seed=seed)
    return evaluate_cell(policy, core, eval_kwargs)


def ram_cell(
    env_id: str,
    seed: int,
    budget: int,
    env_kwargs: dict[str, Any],
    eval_kwargs: dict[str, Any],
    save_to: str | None = None,
    progress: Callable[[Point], None] | None = None,
) -> CellResult:
    """RAM with its trainer's defaults for as many whole epochs as the budget holds (>= 1);
    ``save_to``: its last checkpoint is copied to ``SAVE_TO.pt``; ``progress`` gets each
    epoch's point of the curve."""
    try:
        from agents.ram import RAMAgent
        from agents.ram.train import Args, train
    except ImportError as err:
        raise RuntimeError(f"the ram agent needs agents.ram (not importable here: {err})") from err

    train_core = make_core(env_id, **env_kwargs)
    steps_per_epoch = train_core.num_images * train_core.config.num_glimpses
    epochs = max(budget // steps_per_epoch, 1)
    protocol = EvalProtocol.from_dict(eval_kwargs)
    extra = {k: v for k, v in env_kwargs.items() if k not in ("split", "data_root")}
    with tempfile.TemporaryDirectory(prefix="bench-ram-") as out:
        args = Args(
            env=env_id,
            split=env_kwargs.get("split", "train"),
            test_split=protocol.split,
            data_root=env_kwargs.get("data_root"),
            env_kwargs=json.dumps(extra) if extra else None,
            epochs=epochs,
            seed=seed,
            out=out,
            progress=False,
            tensorboard=False,
        )

        def point(row: dict[str, Any]) -> Point:
            return {
                "env_steps": int(row["epoch"]) * steps_per_epoch,
                "accuracy": float(row["train_accuracy"]),
                "return": float(row["train_reward"]),
                "episodes": train_core.num_images,
            }

        summary = train(args, None if progress is None else lambda row: progress(point(row)))
        agent = RAMAgent.from_checkpoint(Path(out) / "last.pt")
        with (Path(out) / "metrics.csv").open(newline="") as f:
            curve = [point(row) for row in csv.DictReader(f)]
        saved = {}
        if save_to is not None:
            saved["model"] = f"{save_to}.pt"
            write_atomic(saved["model"], (Path(out) / "last.pt").read_bytes())
    info = {"epochs": epochs, "steps_per_epoch": steps_per_epoch, **saved}
    core = make_eval_core(env_id, env_kwargs, eval_kwargs)
    return evaluate_cell(
        agent, core, eval_kwargs, epochs * steps_per_epoch, summary["train_time_s"], curve, info
    )


BUILTIN_AGENTS: dict[str, TrainAndEvaluate] = {
    "ram": ram_cell,
    **{algo: functools.partial(sb3_cell, algo) for algo in ("ppo", "a2c", "dqn", "recurrent_ppo")},
    "random": functools.partial(classifier_cell, "random"),
    "center": functools.partial(classifier_cell, "center"),
    "chance": chance_cell,
    # the agents that learn only where to look (agents/in_the_loop): *_loop and *_hybrid
    **{name: functools.partial(loop_cell, name) for name in LOOP_DESCRIPTIONS},
}
"""The built-in agents by name (:mod:`agents.benchmark.registry` starts its table with them)."""
