"""The documentation site's sources: docstrings the API reference can parse, doctests as code.

``mkdocs build --strict`` (run by ``.ci/run``) renders the API reference from the docstrings of
``glimpse_env`` and ``agents``; this checks, much faster, that griffe (mkdocstrings' parser)
reads every docstring without a warning, so a bad one is caught by the test suite too.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
griffe = pytest.importorskip("griffe", reason="the docs extra: pip install -e '.[docs]'")


def load_hook():
    spec = importlib.util.spec_from_file_location(
        "doctest_fences", REPO / "docs" / "hooks" / "doctest_fences.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctest_blocks_are_fenced_for_the_api_reference():
    fence = load_hook().fence_doctests
    text = "Say:\n\n    >>> f([0, 0])\n    1\n\nDone.\n```python\n>>> kept\n```"
    assert fence(text) == (
        "Say:\n\n    ```pycon\n    >>> f([0, 0])\n    1\n    ```\n\nDone.\n```python\n>>> kept\n```"
    )


def test_every_docstring_parses_without_warnings(caplog):
    """Each warning names the file and line, e.g. a Google-style entry ``a, b: ...`` (one name
    per entry) or a continuation line starting with ``:`` (read as an entry without a name)."""

    def parse_all(obj) -> None:
        if obj.docstring is not None:
            obj.docstring.parse("google")
        for member in obj.members.values():
            if not member.is_alias:
                parse_all(member)

    with caplog.at_level(logging.WARNING, logger="griffe"):
        for package in ("glimpse_env", "agents"):
            parse_all(griffe.load(package, search_paths=[str(REPO)], docstring_parser="google"))
    warnings = sorted({record.getMessage() for record in caplog.records})
    assert not warnings, "docstrings the API reference cannot parse:\n" + "\n".join(warnings)
