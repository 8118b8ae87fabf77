"""The ``glimpse-env`` command: built-in commands plus the agents and commands plugins register.

``glimpse-env COMMAND [AGENT] ARGS...``; every command parses its own arguments (``--help``).
``gif``, ``play``, ``train`` and ``eval`` are built in; ``train AGENT`` and ``eval AGENT`` run the
agent's own main, and other commands (``explain``, ``bench``) come from plugins
(:mod:`glimpse_env.commands.plugins`). Code is imported only when its command runs, so
``glimpse-env --help`` and ``glimpse-env gif`` never import SB3.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from glimpse_env.commands import plugins

__all__ = ["AGENT_COMMANDS", "eval_main", "main", "train_main", "usage"]

AGENT_COMMANDS = ("train", "eval")
"""Commands followed by an agent name; the :class:`~glimpse_env.commands.plugins.Agent` field of
the same name holds its main: ``glimpse-env train ram ...`` calls ``agents()["ram"].train``."""


def _call(prog: str, target: plugins.Target, argv: list[str]) -> int:
    try:
        function = plugins.resolve(target)
    except plugins.PluginError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    return int(function(argv) or 0)


def _agent_usage(command: str) -> str:
    known = {n: a for n, a in plugins.agents().items() if getattr(a, command)}
    lines = [f"usage: glimpse-env {command} AGENT [ARGS...]", "", "agents:"]
    lines += [f"  {name:<14} {agent.description}" for name, agent in known.items()]
    if not known:
        lines.append("  (none: is the package of the agents installed?)")
    lines += ["", f"Run `glimpse-env {command} AGENT --help` for an agent's arguments."]
    return "\n".join(lines)


def _agent_command(command: str, argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(_agent_usage(command))
        return 0
    if not argv:
        known = [n for n, a in plugins.agents().items() if getattr(a, command)]
        print(
            f"glimpse-env {command}: name an agent, one of: {', '.join(known) or '(none)'}",
            file=sys.stderr,
        )
        return 2
    try:
        agent = plugins.get_agent(argv[0], having=command)
    except ValueError as err:
        print(f"glimpse-env {command}: {err}", file=sys.stderr)
        return 2
    return _call(f"glimpse-env {command} {agent.name}", getattr(agent, command), argv[1:])


def train_main(argv: Sequence[str]) -> int:
    """``glimpse-env train AGENT ARGS...``: the agent's ``train`` main."""
    return _agent_command("train", list(argv))


def eval_main(argv: Sequence[str]) -> int:
    """``glimpse-env eval AGENT ARGS...``: the agent's ``eval`` main."""
    return _agent_command("eval", list(argv))


def usage() -> str:
    """The text of ``glimpse-env --help``: commands, agents and policy names."""
    every = plugins.agents()
    lines = ["usage: glimpse-env COMMAND [ARGS...]", "", "commands:"]
    for name, command in plugins.commands().items():
        text = command.description
        if name in AGENT_COMMANDS:
            text += ": " + (" | ".join(n for n, a in every.items() if getattr(a, name)) or "-")
        lines.append(f"  {name:<14} {text}")
    lines += ["", "agents:"]
    lines += [f"  {name:<14} {agent.description}" for name, agent in every.items()]
    if not every:
        lines.append("  (none: is the package of the agents installed?)")
    named = " | ".join(plugins.named_policies())
    loaders = ", ".join(name for name, _ in plugins.policy_loaders())
    lines += [
        "",
        f"gif --policy: {named or '-'}, or a file read by: {loaders or '-'}",
        "",
        "Run `glimpse-env COMMAND --help` for a command's arguments. Agents and commands plug in",
        "through the glimpse_env.agents and glimpse_env.commands entry-point groups.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glimpse-env`` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = args[0], args[1:]
    found = plugins.commands().get(command)
    if found is None:
        known = ", ".join(plugins.commands())
        print(f"glimpse-env: unknown command {command!r}; commands: {known}", file=sys.stderr)
        return 2
    return _call(f"glimpse-env {command}", found.main, rest)


if __name__ == "__main__":
    sys.exit(main())
