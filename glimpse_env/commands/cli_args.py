"""Command-line arguments from a dataclass (CleanRL style): fields are flags, docstrings the help.

>>> from dataclasses import dataclass
>>> @dataclass
... class Args:
...     env: str = "GlimpseEnv-v0"
...     '''The environment id.'''
...     epochs: int = 10
...     '''Passes over the training split.'''
...     cuda: bool = False
...     '''Train on the GPU.'''
>>> parse_args(Args, ["--epochs", "3", "--cuda"])
Args(env='GlimpseEnv-v0', epochs=3, cuda=True)
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import json
import textwrap
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

__all__ = ["build_parser", "field_docs", "parse_args", "parse_json_object"]

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """The string literal under each annotated field of a class body: ``{field: doc}``."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        tree = ast.parse(source)
        if not tree.body or not isinstance(tree.body[0], ast.ClassDef):
            continue
        body = tree.body[0].body
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """``(type, optional)`` for ``int``, ``int | None``, ``Optional[int]``, ``Literal[...]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        return str, True
    return annotation, False


def build_parser(cls: type, prog: str | None = None, description: str | None = None):
    """An ``argparse.ArgumentParser`` with one ``--flag`` per dataclass field."""
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description or (inspect.getdoc(cls) or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        kind, optional = _base_type(hints[field.name])
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        help_text = docs.get(field.name, " ")
        if kind is bool:
            parser.add_argument(
                flag, dest=field.name, default=default, action=argparse.BooleanOptionalAction,
                help=help_text,
            )  # fmt: skip
            continue
        choices = None
        if typing.get_origin(kind) is typing.Literal:
            choices = list(typing.get_args(kind))
            kind = type(choices[0])
        convert = kind if kind in (int, float, str) else str
        if optional:
            base = convert
            convert = lambda s, base=base: None if s.lower() == "none" else base(s)  # noqa: E731
        required = default is dataclasses.MISSING
        parser.add_argument(
            flag, dest=field.name, type=convert, choices=choices, required=required,
            # A required flag shows no "(default: ...)" in --help.
            default=argparse.SUPPRESS if required else default,
            help=help_text if not required else f"{help_text} (required)",
        )  # fmt: skip
    return parser


def parse_args(cls: type[T], argv: Sequence[str] | None = None, prog: str | None = None) -> T:
    """Parse ``argv`` into an instance of the dataclass ``cls``."""
    namespace = build_parser(cls, prog=prog).parse_args(argv)
    return cls(**vars(namespace))


def parse_json_object(text: str | None, flag: str = "--env-kwargs") -> dict[str, Any]:
    """A JSON object given on the command line (None or '' -> {}); ValueError naming the flag.

    >>> parse_json_object('{"split": "test"}')
    {'split': 'test'}
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f'{flag} must be a JSON object, e.g. \'{{"split": "test"}}\': {err}'
        ) from err
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return value
