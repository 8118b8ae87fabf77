"""A griffe extension for the API reference: doctest examples in docstrings render as code.

The project's docstrings carry bare doctest blocks (``>>>`` lines and their expected output, up
to a blank line) outside any ``Examples:`` section; Markdown would read them as nested block
quotes, and their brackets as reference links. This wraps each such block in a ``pycon`` fence
before mkdocstrings renders the docstring (``extensions`` in ``mkdocs.yml``).
"""

from __future__ import annotations

from typing import Any

import griffe

FENCES = ("```", "~~~")


def fence_doctests(text: str) -> str:
    """``text`` with every doctest block outside a fence wrapped in a ``pycon`` fence.

    A block starts at a line whose text begins with ``>>>`` and ends before the next blank
    line (doctest's own rule), keeping its indentation; fenced code is left alone.
    """
    lines, out, fenced, i = text.split("\n"), [], False, 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped.startswith(FENCES):
            fenced = not fenced
        if fenced or not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(stripped)]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest blocks of every docstring once the object tree is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
