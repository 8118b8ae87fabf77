"""The ``glimpse-env`` command: a table of sub-commands, each implemented in its own module.

``glimpse-env COMMAND [AGENT] ARGS...``; every command parses its own arguments (``--help``).
Modules are imported only when their command runs, so ``glimpse-env gif`` never imports SB3.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["AGENT_COMMANDS", "COMMANDS", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    # command: ("module:function", one-line help); function(argv: list[str]) -> int | None
    "gif": ("glimpse_env.commands.render_cli:gif_main", "write a GIF of episodes of a policy"),
    "play": ("glimpse_env.commands.render_cli:play_main", "play an environment in a pygame window"),
    "explain": ("agents.explain.cli:main", "explain what a RAM saw: reconstructions, information"),
    "bench": ("agents.benchmark.cli:main", "train and evaluate agents x envs x seeds, report"),
}
"""Commands without an agent word: ``glimpse-env gif ...``."""

AGENT_COMMANDS: dict[str, dict[str, str]] = {
    "train": {
        "ram": "agents.ram.train:main",
        "cnn": "agents.ram.baselines:main_cnn",
        "mlp": "agents.ram.baselines:main_mlp",
        "ppo": "agents.sb3.train:main_ppo",
        "a2c": "agents.sb3.train:main_a2c",
        "dqn": "agents.sb3.train:main_dqn",
        "recurrent_ppo": "agents.sb3.train:main_recurrent_ppo",
        "eig": "agents.eig.train:main",
    },
    "eval": {
        "ram": "agents.ram.evaluate:main",
        "eig": "agents.eig.evaluate:main",
    },
}
"""Commands followed by an agent name: ``glimpse-env train ram ...`` -> ``module:function``."""


def _call(target: str, argv: list[str]) -> int:
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return int(function(argv) or 0)


def _usage() -> str:
    lines = ["usage: glimpse-env COMMAND [ARGS...]", "", "commands:"]
    for name, (_, help_text) in COMMANDS.items():
        lines.append(f"  {name:<10} {help_text}")
    for name, agents in AGENT_COMMANDS.items():
        if agents:
            lines.append(f"  {name:<10} {name} an agent: {' | '.join(agents)}")
    lines.append("")
    lines.append("Run `glimpse-env COMMAND --help` for a command's arguments.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glimpse-env`` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    command, rest = args[0], args[1:]
    if command in COMMANDS:
        return _call(COMMANDS[command][0], rest)
    if command in AGENT_COMMANDS:
        agents = AGENT_COMMANDS[command]
        if not rest or rest[0] not in agents:
            print(
                f"glimpse-env {command}: name an agent, one of: {', '.join(agents) or '(none)'}",
                file=sys.stderr,
            )
            return 2
        return _call(agents[rest[0]], rest[1:])
    print(f"glimpse-env: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
