"""The registry of agents and commands that plug into ``glimpse-env``, in-process or by entry point.

An :class:`Agent` says what one agent brings to the command line: ``glimpse-env train NAME`` (its
``train`` main), ``glimpse-env eval NAME`` (its ``eval`` main), named policies for
``glimpse-env gif --policy NAME``, and a :class:`PolicyLoader` for its files
(``--policy FILE``). A :class:`Command` is a top-level command (``glimpse-env explain ...``).
Both name their code as ``"module:attribute"`` strings (or hold the objects themselves), imported
only when a command runs: listing the agents imports none of them.

They come from two places, as rewards do (:mod:`glimpse_env.core.rewards`):

- the ``glimpse_env.agents`` and ``glimpse_env.commands`` entry-point groups, read once, on first
  use: an installed package declares
  ``[project.entry-points."glimpse_env.agents"] my_agent = "my_pkg.plugin:AGENT"``, the entry
  point's name being the agent's name;
- :func:`register_agent` and :func:`register_command` in the running process.

``glimpse_env`` declares no agent itself and never imports ``agents``: the project's own agents
(``agents/plugins.py``) come in through the same entry points as anyone's.

>>> agent = Agent("toy", "always looks at the centre", train="my_pkg.train:main")
>>> agent.name, agent.train, agent.loader
('toy', 'my_pkg.train:main', None)
>>> resolve("json:dumps")([1, 2])
'[1, 2]'
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

__all__ = [
    "AGENT_GROUP",
    "BUILTIN_COMMANDS",
    "COMMAND_GROUP",
    "Agent",
    "Command",
    "PluginError",
    "PluginWarning",
    "PolicyLoader",
    "Target",
    "TrainedOn",
    "agents",
    "commands",
    "get_agent",
    "named_policies",
    "named_policy_env",
    "policy_loaders",
    "register_agent",
    "register_command",
    "resolve",
]

AGENT_GROUP = "glimpse_env.agents"
"""Entry points naming :class:`Agent` objects."""
COMMAND_GROUP = "glimpse_env.commands"
"""Entry points naming :class:`Command` objects."""

Target = str | Callable[..., Any]
"""Code to run: a ``"module:attribute"`` string (imported on use) or the callable itself."""


class PluginError(ImportError):
    """A plugin's code cannot be imported (its module or an optional dependency is missing)."""


class PluginWarning(UserWarning):
    """An entry point that is skipped: it cannot be loaded, or it is not a valid plugin."""


def _check_name(kind: str, name: object) -> None:
    if (
        not isinstance(name, str)
        or not name
        or name.startswith("-")
        or any(c.isspace() for c in name)
    ):
        raise ValueError(
            f"{kind} name must be a non-empty word not starting with '-', got {name!r}"
        )


def _check_target(what: str, target: object, optional: bool = False) -> None:
    if target is None and optional:
        return
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        if module and attr:
            return
    elif callable(target):
        return
    raise ValueError(f"{what} must be a 'module:attribute' string or a callable, got {target!r}")


@dataclass(frozen=True)
class TrainedOn:
    """The environment a policy file was trained on, as its loader reads it from the file.

    Attributes:
        env_id: the registered id.
        env_kwargs: kwargs on top of the id's (``gym.make(env_id, **env_kwargs)``). The commands
            ignore the machine-local ones (``device``, ``data_root``).
        test_split: the held-out split the file records, if any; ``gif`` shows that split.
    """

    env_id: str
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    test_split: str | None = None


@dataclass(frozen=True)
class PolicyLoader:
    """How to read one format of policy files (``glimpse-env gif --policy FILE``).

    Loaders are asked in turn, the latest registered first; the first whose ``can_load`` is true
    reads the file.

    Attributes:
        can_load: ``(path: Path) -> bool``, whether the file is of this format (a cheap peek).
        load: ``(path: Path, env) -> Policy``, a policy to act in ``env``; raises ValueError
            (one line) if the policy cannot act in that env (other glimpse shape or classes).
        trained_on: ``(path: Path) -> TrainedOn | None``, the env the file was trained on, so
            commands make that env unless told otherwise (optional).
    """

    can_load: Target
    load: Target
    trained_on: Target | None = None

    def __post_init__(self) -> None:
        _check_target("PolicyLoader.can_load", self.can_load)
        _check_target("PolicyLoader.load", self.load)
        _check_target("PolicyLoader.trained_on", self.trained_on, optional=True)


@dataclass(frozen=True)
class Agent:
    """What one agent brings to ``glimpse-env``; every part but the name and description optional.

    Attributes:
        name: the word on the command line (``glimpse-env train NAME``).
        description: one line for the listings.
        train: ``main(argv: list[str]) -> int | None`` of ``glimpse-env train NAME ARGS...``.
        eval: ``main(argv)`` of ``glimpse-env eval NAME ARGS...``.
        loader: reads this agent's policy files.
        policies: policy names for ``--policy NAME`` -> ``factory(env, seed) -> Policy``.
        policy_envs: for some of those names, ``trained_on(env_id) -> TrainedOn | None``: the
            env the named policy for that id was trained on (``gif`` and ``play`` then show its
            held-out split, as for a policy file).
    """

    name: str
    description: str
    train: Target | None = None
    eval: Target | None = None
    loader: PolicyLoader | None = None
    policies: Mapping[str, Target] = field(default_factory=dict)
    policy_envs: Mapping[str, Target] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name("an agent's", self.name)
        if not isinstance(self.description, str):
            raise ValueError(f"agent {self.name!r}: description must be a str")
        _check_target(f"agent {self.name!r}: train", self.train, optional=True)
        _check_target(f"agent {self.name!r}: eval", self.eval, optional=True)
        if self.loader is not None and not isinstance(self.loader, PolicyLoader):
            raise ValueError(f"agent {self.name!r}: loader must be a PolicyLoader")
        for policy, factory in self.policies.items():
            _check_name(f"agent {self.name!r}: a policy's", policy)
            _check_target(f"agent {self.name!r}: policy {policy!r}", factory)
        for policy, trained_on in self.policy_envs.items():
            if policy not in self.policies:
                raise ValueError(
                    f"agent {self.name!r}: policy_envs names {policy!r}, which is not one of its "
                    f"policies ({', '.join(self.policies) or 'none'})"
                )
            _check_target(f"agent {self.name!r}: policy_envs {policy!r}", trained_on)


@dataclass(frozen=True)
class Command:
    """A top-level command: ``glimpse-env NAME ARGS...`` calls ``main(ARGS)``.

    Attributes:
        name: the command's word.
        description: one line for the listing.
        main: ``main(argv: list[str]) -> int | None``.
    """

    name: str
    description: str
    main: Target

    def __post_init__(self) -> None:
        _check_name("a command's", self.name)
        _check_target(f"command {self.name!r}: main", self.main)


BUILTIN_COMMANDS: tuple[Command, ...] = (
    Command(
        "gif", "write a GIF of episodes of a policy", "glimpse_env.commands.render_cli:gif_main"
    ),
    Command(
        "play",
        "play an environment in a pygame window",
        "glimpse_env.commands.render_cli:play_main",
    ),
    Command("train", "train an agent", "glimpse_env.commands.cli:train_main"),
    Command("eval", "evaluate a trained agent", "glimpse_env.commands.cli:eval_main"),
)
"""The commands of ``glimpse_env`` itself; plugins cannot take their names."""


def resolve(target: Target) -> Any:
    """The object a target names: ``"module:attr.sub"`` is imported; a callable is itself.

    Raises:
        PluginError: the module cannot be imported or has no such attribute (one line).
    """
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as err:
        raise PluginError(f"cannot load {target!r} ({type(err).__name__}: {err})") from err
    return found


class _Registry:
    """The agents and commands known in this process. Changes make a new registry that replaces
    the module's (copy on write), so putting the old object back undoes them (tests do)."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.commands: dict[str, Command] = {c.name: c for c in BUILTIN_COMMANDS}
        self.origin: dict[tuple[str, str], str] = {}  # (kind, name) -> where it came from
        self.rank: dict[str, int] = {}  # agent name -> registration number (loader order)
        self.loaded = False

    def copy(self) -> _Registry:
        new = _Registry()
        new.agents, new.commands = dict(self.agents), dict(self.commands)
        new.origin, new.rank, new.loaded = dict(self.origin), dict(self.rank), self.loaded
        return new

    def add(self, plugin: Agent | Command, origin: str) -> None:
        table: dict[str, Any] = self.agents if isinstance(plugin, Agent) else self.commands
        table[plugin.name] = plugin
        self.origin[(type(plugin).__name__, plugin.name)] = origin
        if isinstance(plugin, Agent):
            self.rank[plugin.name] = max(self.rank.values(), default=-1) + 1

    def load_entry_points(self) -> None:
        self.loaded = True
        for group, kind, table in (
            (AGENT_GROUP, Agent, self.agents),
            (COMMAND_GROUP, Command, self.commands),
        ):
            for point in entry_points(group=group):
                where = f"entry point {point.name} = {point.value!r} ({group})"
                try:
                    plugin = point.load()
                except Exception as err:  # a broken plugin must not break the command line
                    _skip(where, f"it cannot be loaded ({type(err).__name__}: {err})")
                    continue
                if not isinstance(plugin, kind):
                    _skip(where, f"it names {plugin!r:.40}, not a {__name__}.{kind.__name__}")
                elif plugin.name != point.name:
                    _skip(
                        where,
                        f"it names the {kind.__name__.lower()} {plugin.name!r} (names must match)",
                    )
                elif plugin.name in table:
                    taken = self.origin.get((kind.__name__, plugin.name), "glimpse_env")
                    _skip(where, f"the name {plugin.name!r} is taken by {taken}")
                else:
                    self.add(plugin, where)


def _skip(where: str, why: str) -> None:
    warnings.warn(f"glimpse-env: skipped the {where}: {why}", PluginWarning, stacklevel=5)


_REGISTRY = _Registry()


def _registry() -> _Registry:
    """The registry, with the entry points read (once)."""
    global _REGISTRY
    if not _REGISTRY.loaded:
        registry = _REGISTRY.copy()
        registry.load_entry_points()
        _REGISTRY = registry
    return _REGISTRY


def _register(plugin: Agent | Command, overwrite: bool) -> None:
    global _REGISTRY
    registry = _registry().copy()
    kind = type(plugin).__name__
    table: dict[str, Any] = registry.agents if isinstance(plugin, Agent) else registry.commands
    if isinstance(plugin, Command) and plugin.name in {c.name for c in BUILTIN_COMMANDS}:
        raise ValueError(f"{plugin.name!r} is a built-in glimpse-env command")
    if plugin.name in table and not overwrite:
        taken = registry.origin.get((kind, plugin.name), "glimpse_env")
        raise ValueError(
            f"a{'n' if kind == 'Agent' else ''} {kind.lower()} named {plugin.name!r} is already "
            f"registered (by {taken}); pass overwrite=True to replace it"
        )
    registry.add(plugin, "register_" + kind.lower())
    _REGISTRY = registry


def register_agent(agent: Agent, *, overwrite: bool = False) -> None:
    """Add an agent to every command of this process (``train``, ``eval``, ``gif --policy``).

    Its policy loader is asked before those registered earlier.

    Args:
        agent: the :class:`Agent`.
        overwrite: replace an agent of the same name (else that is a ValueError).
    """
    if not isinstance(agent, Agent):
        raise ValueError(f"register_agent takes an Agent, got {type(agent).__name__}")
    _register(agent, overwrite)


def register_command(command: Command, *, overwrite: bool = False) -> None:
    """Add a top-level command (``glimpse-env NAME``), as :func:`register_agent` adds agents."""
    if not isinstance(command, Command):
        raise ValueError(f"register_command takes a Command, got {type(command).__name__}")
    _register(command, overwrite)


def agents() -> dict[str, Agent]:
    """The known agents by name, sorted by name (entry points and in-process registrations)."""
    return dict(sorted(_registry().agents.items()))


def commands() -> dict[str, Command]:
    """The known commands: the built-in ones first, then the plugins' sorted by name."""
    table = _registry().commands
    builtin = [c.name for c in BUILTIN_COMMANDS]
    return {name: table[name] for name in [*builtin, *sorted(set(table) - set(builtin))]}


def get_agent(name: str, having: str | None = None) -> Agent:
    """The agent called ``name``; with ``having="train"`` (or another attribute), one that has it.

    Raises:
        ValueError: no such agent, one line listing the known ones (that have ``having``).
    """
    known = {n: a for n, a in agents().items() if having is None or getattr(a, having)}
    if name in known:
        return known[name]
    listed = ", ".join(known) or "(none: is the package of the agents installed?)"
    if having is None:
        raise ValueError(f"unknown agent {name!r}; known agents: {listed}")
    if name in _registry().agents:
        raise ValueError(f"agent {name!r} has no {having} command; agents with one: {listed}")
    raise ValueError(f"unknown agent {name!r}; agents with a {having} command: {listed}")


def policy_loaders() -> list[tuple[str, PolicyLoader]]:
    """``(agent name, loader)`` in the order they are asked: the latest registered first."""
    registry = _registry()
    with_loader = [a for a in registry.agents.values() if a.loader is not None]
    with_loader.sort(key=lambda a: registry.rank[a.name], reverse=True)
    return [(a.name, a.loader) for a in with_loader if a.loader is not None]


def named_policies() -> dict[str, tuple[str, Target]]:
    """``--policy`` names -> ``(agent name, factory)``; a name two agents give: the first's."""
    found: dict[str, tuple[str, Target]] = {}
    registry = _registry()
    for agent in sorted(registry.agents.values(), key=lambda a: registry.rank[a.name]):
        for policy, factory in agent.policies.items():
            found.setdefault(policy, (agent.name, factory))
    return found


def named_policy_env(name: str) -> Target | None:
    """The ``trained_on(env_id)`` of the agent whose policy ``name`` is, if it gives one."""
    owner = named_policies().get(name)
    if owner is None:
        return None
    return _registry().agents[owner[0]].policy_envs.get(name)
