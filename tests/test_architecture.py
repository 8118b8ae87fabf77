"""The environment library stands alone: it never imports ``agents``, its imports go one way
(data -> core -> pictures -> faces -> registration -> commands) and form no cycle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "glimpse_env"

LAYERS = ("data", "core", "pictures", "faces", "registration", "<package>", "commands")
"""Sub-packages (and modules) of glimpse_env, lowest first: a module imports only its own layer
and the layers before it. ``<package>`` is ``glimpse_env/__init__.py``, the public face."""

ALLOWED_UPWARD = {("glimpse_env.faces.sb3", "glimpse_env.registration")}
"""Exceptions, each with its reason: registration names the faces by "module:Class" strings and
imports none of them, so the SB3 face may look an id's kwargs up there without a cycle."""


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1] if len(parts) > 1 else "<package>")


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions (absolute names)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            # `from glimpse_env.x import y` may import the module glimpse_env.x.y
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """glimpse_env module -> the glimpse_env (and agents) modules it imports."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {
            m
            for m in imports_of(path)
            if (m in modules and m != name) or m == "agents" or m.startswith("agents.")
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_imports_go_one_way_and_never_to_agents():
    graph = import_graph()
    assert len(graph) > 25  # the walk found the package
    to_agents = sorted((a, b) for a, deps in graph.items() for b in deps if b.startswith("agents"))
    assert not to_agents, f"glimpse_env imports agents: {to_agents}"
    upward = sorted(
        (a, b)
        for a, deps in graph.items()
        for b in deps
        if layer(b) > layer(a) and (a, b) not in ALLOWED_UPWARD
    )
    assert not upward, f"imports against the direction {' -> '.join(LAYERS)}: {upward}"


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None, find_cycle(import_graph())
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the finder


STANDALONE = textwrap.dedent("""
    import importlib, json, pkgutil, sys, warnings


    class NoAgents:
        # Every import of agents or agents.* fails, as if the package were not installed.
        def find_spec(self, name, path=None, target=None):
            if name == "agents" or name.startswith("agents."):
                raise ImportError(f"agents is not importable here ({name})")
            return None


    blocker = NoAgents()
    sys.meta_path.insert(0, blocker)
    import glimpse_env
    # Every glimpse_env module imports without agents.
    names = [m.name for m in pkgutil.walk_packages(glimpse_env.__path__, "glimpse_env.")]
    for name in names:
        importlib.import_module(name)
    report = {"imported": len(names)}
    report["agents_imported"] = sorted(m for m in sys.modules if m.startswith("agents"))
    from glimpse_env.commands import cli, plugins

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report["help_rc"] = cli.main(["--help"])
        report["train_rc"] = cli.main(["train", "ram"])
    report["skipped"] = sum(issubclass(w.category, plugins.PluginWarning) for w in caught)
    # The project's agents, importable again: listing them imports none of their code.
    sys.meta_path.remove(blocker)
    plugins._REGISTRY = plugins._Registry()
    cli.usage()
    report["agent_modules_after_listing"] = sorted(m for m in sys.modules if m.startswith("agents"))
    print("REPORT" + json.dumps(report))
""")


def test_glimpse_env_stands_alone_without_agents():
    """In a fresh interpreter where ``agents`` cannot be imported, every glimpse_env module
    imports and ``glimpse-env --help`` lists the built-in commands; with ``agents`` back, the
    listing imports only ``agents.plugins``."""
    done = subprocess.run(
        [sys.executable, "-c", STANDALONE], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.split("REPORT")[-1])
    listing = done.stdout.split("REPORT")[0]
    assert report["help_rc"] == 0 and report["train_rc"] == 2
    for command in ("gif", "play", "train", "eval"):
        assert f"  {command} " in listing
    assert "(none: is the package of the agents installed?)" in listing
    assert "unknown agent 'ram'" in done.stderr
    assert report["skipped"] >= 10  # each of the project's entry points, one warning each
    # Listing imports only the plugin declarations (light modules of names and strings), no agent.
    declarations = {
        "agents",
        "agents.plugins",
        "agents.in_the_loop",
        "agents.in_the_loop.names",
        "agents.in_the_loop.plugin",
    }
    assert "agents.plugins" in report["agent_modules_after_listing"]
    assert set(report["agent_modules_after_listing"]) <= declarations
    assert report["imported"] > 25 and report["agents_imported"] == []
