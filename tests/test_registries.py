"""Global registries are restored after every test (``conftest.restore_registries``).

The suite must pass in any order (``pytest -p randomly``): a test that registers a reward, an
agent or an env id must not change what a later test sees. These tests check the mechanism and
that the list of registries in ``conftest.py`` is complete: every ``register_*`` function in
``glimpse_env`` and ``agents`` keeps its entries in a registry listed there.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from conftest import GLOBAL_REGISTRIES, REPO, snapshot_registries

from glimpse_env.core.rewards import available_rewards, register_reward

PACKAGES = ("glimpse_env", "agents")


def test_every_listed_registry_exists():
    for module_name, attribute in GLOBAL_REGISTRIES:
        module = importlib.import_module(module_name)
        assert hasattr(module, attribute), f"{module_name}.{attribute} is gone: update conftest.py"


def test_restore_undoes_registrations():
    restore = snapshot_registries()
    rewards_before, ids_before = available_rewards(), set(gym.registry)
    register_reward("registered_in_a_test", lambda: lambda step: torch.zeros(len(step.label)))
    gym.register("RegisteredInATest-v0", entry_point="glimpse_env.faces.env:GlimpseEnv")
    restore()
    assert available_rewards() == rewards_before
    assert set(gym.registry) == ids_before


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MUTATORS = {"append", "extend", "insert", "update", "add", "setdefault", "pop", "clear", "remove"}


def _subscripted(targets: list[ast.expr]) -> set[str]:
    """``X`` of every target ``X[...]``."""
    return {
        t.value.id
        for t in targets
        if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
    }


def _names_written(function: ast.FunctionDef, functions: dict[str, ast.FunctionDef]) -> set[str]:
    """Module-level names ``function`` changes (``X[k] = v``, ``X.update(...)``, ``global X``),
    following its calls to the module's other functions."""
    seen, todo, names = set(), [function], set()
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        for node in ast.walk(current):
            if isinstance(node, ast.Global):
                names.update(node.names)
            elif isinstance(node, (ast.Assign, ast.Delete)):
                names |= _subscripted(node.targets)
            elif isinstance(node, ast.AugAssign):
                names |= _subscripted([node.target])
            elif isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    if func.attr in MUTATORS:
                        names.add(func.value.id)
                elif isinstance(func, ast.Name) and func.id in functions:
                    todo.append(functions[func.id])
    return names


def registries_of_register_functions() -> set[tuple[str, str]]:
    """``(module, name)`` of the module-level objects that ``register_*`` functions change."""
    found = set()
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
            registers = [f for name, f in functions.items() if name.startswith("register_")]
            if not registers:
                continue
            module = importlib.import_module(_module_name(path))
            for function in registers:
                for name in _names_written(function, functions):
                    if name in vars(module):  # a module-level object, not a local
                        found.add((module.__name__, name))
    return found


def test_conftest_lists_every_registry():
    missing = registries_of_register_functions() - set(GLOBAL_REGISTRIES)
    assert not missing, f"add these registries to GLOBAL_REGISTRIES in tests/conftest.py: {missing}"


@pytest.mark.parametrize("order", ["first", "second"])
def test_a_registration_does_not_leak_into_the_next_test(order):
    """Run in either order, each sees the registry without the other's reward."""
    assert "leaky_reward" not in available_rewards()
    register_reward("leaky_reward", lambda: None)
