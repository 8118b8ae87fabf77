"""A trainer's command: parse its ``Args``, run it, turn a bad argument into one line, exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from glimpse_env.commands.cli_args import parse_args

__all__ = ["print_written", "run_command"]

A = TypeVar("A")


def run_command(
    prog: str, args_class: type[A], argv: Sequence[str] | None, function: Callable[[A], Any]
) -> int:
    """``function(parse_args(args_class, argv))``; returns the exit code.

    A ``ValueError`` or ``FileNotFoundError`` (an unknown env id, bad JSON, a missing dataset
    or checkpoint, a checkpoint of another run: :class:`~agents.checkpoints.CheckpointError` is
    a ValueError) is printed as ``PROG: error: MESSAGE`` on stderr, exit code 2, no traceback.
    """
    args = parse_args(args_class, argv, prog=prog)
    try:
        function(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    return 0


def print_written(paths: Iterable[str | Path]) -> None:
    """Say where a command wrote its files: one ``wrote PATH`` line each (folders end in /)."""
    for path in paths:
        path = Path(path)
        print(f"wrote {path}{'/' if path.is_dir() else ''}")
