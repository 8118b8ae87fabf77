"""The benchmark's table of agents: the built-in ones, those you register, and ``module:function``.

An agent is a :data:`~agents.benchmark.cells.TrainAndEvaluate` function. :data:`AGENTS` starts
with the built-in agents of :mod:`agents.benchmark.agents`; :func:`register_agent` adds yours,
and a name of the form ``"package.module:function"`` names one without registering it (that is
also how worker processes find an agent registered only in the parent).

>>> "ppo" in AGENTS and "chance" in agent_names()
True
>>> resolve_agent("nosuch")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown agent 'nosuch'; known: ram, ppo, a2c, dqn, recurrent_ppo, random, center, \
chance, ... (or give 'package.module:function')
"""

from __future__ import annotations

import importlib

from agents.benchmark.agents import BUILTIN_AGENTS
from agents.benchmark.cells import TrainAndEvaluate

__all__ = ["AGENTS", "agent_names", "register_agent", "resolve_agent"]

AGENTS: dict[str, TrainAndEvaluate] = dict(BUILTIN_AGENTS)
"""name -> train_and_evaluate: the built-in agents, then those of :func:`register_agent`."""


def register_agent(name: str, train_and_evaluate: TrainAndEvaluate) -> None:
    """Add (or replace) an agent of the benchmark under ``name``.

    Worker processes import the built-in agents afresh, so an agent registered only in your
    script runs in-process (``workers=0``); give the grid ``"module:function"`` instead to run it
    in workers or on Ray.
    """
    if ":" in name:
        raise ValueError(f"agent names may not contain ':' (that form names a function): {name!r}")
    AGENTS[name] = train_and_evaluate


def agent_names() -> list[str]:
    """The registered agents' names, built-in ones first."""
    return list(AGENTS)


def resolve_agent(name: str) -> TrainAndEvaluate:
    """The function of a registered agent, or of ``"package.module:function"``.

    Raises:
        ValueError: an unknown name (the message lists the known ones), or a
            ``module:function`` that does not import or is not callable; one line.
    """
    if name in AGENTS:
        return AGENTS[name]
    if ":" not in name:
        raise ValueError(
            f"unknown agent {name!r}; known: {', '.join(AGENTS)} "
            "(or give 'package.module:function')"
        )
    module_name, function_name = name.split(":", 1)
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"agent {name!r} cannot be loaded: {type(err).__name__}: {err}") from err
    if not callable(function):
        raise ValueError(f"agent {name!r} is a {type(function).__name__}, not a function")
    return function
