"""Docs as code: every Python snippet of README.md and docs/*.md runs as printed.

Each Markdown file's `python` blocks run in order in one namespace (a later block may use what an
earlier one defined), in a fresh working folder, on the shared data (``GLIMPSE_ENV_DATA``, set by
conftest). Files the snippets read that the docs make with a long training command
(``runs/ram/last.pt``, ...) are made once per session by a tiny run of that same command (see
:data:`ARTEFACTS`) and put at the same relative path. `bash` blocks are not run, but every
``glimpse-env COMMAND`` and ``python -m agents.MODULE [SUBCOMMAND]`` they name must exist (its
``--help`` exits 0), and every ``python benchmarks/X.py`` (tools/, examples/) script too.

A snippet is skipped only if an HTML comment ``<!-- docs-test: skip REASON -->`` right above it
says so and :data:`SKIPS` lists it (file and first line of code): nothing is skipped silently.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from glimpse_env.commands.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]

SKIPS: set[tuple[str, str]] = set()
"""``(file relative to the repo, first line of the block)`` of the snippets allowed to skip."""

SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\b(.*?)-->")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, first line number (1-based), code, skip reason."""

    language: str
    line: int
    code: str
    skip: str | None = None


def code_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text (indented fences too, e.g. inside list items)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, language = opening.groups()
        previous = lines[i - 1].strip() if i > 0 else ""
        skip = SKIP_MARK.search(previous)
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        blocks.append(
            Block(language.lower(), i + 2, "\n".join(body) + "\n", skip and skip.group(1).strip())
        )
        i = j + 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    return [b for b in code_blocks(path.read_text()) if b.language in ("python", "py")]


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


# ------------------------------------------------------------------ files the snippets read


def _quiet_cli(*argv: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli_main(list(argv))
    assert code == 0, f"glimpse-env {' '.join(argv)} exited {code}:\n{out.getvalue()[-2000:]}"


def _tiny_ram(root: Path) -> None:
    _quiet_cli(
        "train", "ram", "--env", "GlimpseEnv-v0", "--split", "test[:256]",
        "--test-split", "test[8000:8064]", "--epochs", "1", "--batch-size", "64",
        "--hidden-size", "32", "--glimpse-hidden", "16", "--glimpse-features", "32",
        "--out", str(root / "runs/ram"), "--no-progress", "--no-tensorboard",
    )  # fmt: skip


def _tiny_explain(root: Path) -> None:
    """What ``glimpse-env explain`` saves as ``vae.pt``, without its pictures (slow to draw)."""
    from agents.evaluation import make_core
    from agents.explain.reconstruction import VAETraining, train_vae
    from agents.explain.vae import save_vae
    from agents.ram import RAMAgent

    agent = RAMAgent.from_checkpoint(root / "runs/ram/last.pt")
    core = make_core("GlimpseEnv-v0", split="test[:256]")
    vae, history = train_vae(agent, core, VAETraining(epochs=1, hidden_size=64), progress=False)
    save_vae(root / "runs/explain/vae.pt", vae, {"history": history})


def _tiny_eig(root: Path) -> None:
    tiny = [
        "--env", "GlimpseEnv-v0", "--split", "test[:64]", "--test-split", "test[8000:8032]",
        "--epochs", "1", "--batch-size", "16", "--cnn-channels", "4", "--feature-size", "16",
        "--hidden-size", "32", "--latent-size", "4", "--flow-layers", "2",
        "--decoder-channels", "8", "--train-samples", "2", "--eval-samples", "2", "--no-test",
        "--no-progress", "--no-tensorboard",
    ]  # fmt: skip
    _quiet_cli("train", "eig", *tiny, "--phase", "1", "--out", str(root / "runs/eig/p1"))
    for phase, init in (("2", "p1"), ("3", "p2")):
        _quiet_cli(
            "train", "eig", *tiny, "--phase", phase,
            "--init-from", str(root / f"runs/eig/{init}/last.pt"),
            "--out", str(root / f"runs/eig/p{phase}"),
        )  # fmt: skip


ARTEFACTS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "runs/ram/last.pt": (_tiny_ram, ()),
    "runs/explain/vae.pt": (_tiny_explain, ("runs/ram/last.pt",)),
    "runs/eig/p3/last.pt": (_tiny_eig, ()),
}
"""Path a snippet reads -> (a tiny run of the command the docs make it with, paths it needs)."""


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``make(path)``: the session's tiny version of ``path`` (made on first use)."""
    root = tmp_path_factory.mktemp("doc-artefacts")

    def make(path: str) -> Path:
        if not (root / path).exists():
            maker, needs = ARTEFACTS[path]
            for need in needs:
                make(need)
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                maker(root)
            finally:
                torch.set_num_threads(threads)
        return root / path

    return make


# ------------------------------------------------------------------------------- the tests


def test_the_collector_finds_the_snippets():
    """The parser sees python blocks (also indented ones) and the skip marks."""
    text = (
        "x\n```python\na = 1\n```\n- item\n\n  ```py\n  b = a + 1\n  ```\n"
        "<!-- docs-test: skip trains for hours -->\n```python\nlong()\n```\n```bash\nls\n```\n"
    )
    blocks = code_blocks(text)
    assert [(b.language, b.line, b.code, b.skip) for b in blocks] == [
        ("python", 3, "a = 1\n", None),
        ("py", 8, "b = a + 1\n", None),
        ("python", 12, "long()\n", "trains for hours"),
        ("bash", 15, "ls\n", None),
    ]
    assert sum(len(python_blocks(path)) for path in DOCS) >= 10


@pytest.mark.parametrize("path", DOCS, ids=relative)
def test_python_snippets_run_as_printed(path, artefacts, tmp_path, monkeypatch):
    blocks = python_blocks(path)
    if not blocks:
        return
    code = "".join(block.code for block in blocks)
    for needed in ARTEFACTS:
        if needed in code:
            (tmp_path / needed).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(artefacts(needed), tmp_path / needed)
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace: dict = {"__name__": "__docs__"}
    try:
        for block in blocks:
            where = f"{relative(path)}:{block.line}"
            first = block.code.strip().splitlines()[0]
            if block.skip is not None:
                assert (relative(path), first) in SKIPS, (
                    f"{where}: skipped ({block.skip}) but not listed in SKIPS"
                )
                continue
            try:
                exec(compile(block.code, where, "exec", dont_inherit=True), namespace)
            except Exception as err:
                tb = "".join(traceback.format_exception(err)[-6:])
                pytest.fail(f"{where}: the snippet fails as printed: {err!r}\n{tb}")
    finally:
        torch.set_num_threads(threads)


COMMAND = re.compile(r"(?:^|[;&|]\s*)glimpse-env((?:\s+[a-z][a-z0-9_]*)*)")


def documented_commands() -> dict[tuple[str, ...], str]:
    """``glimpse-env`` command words in bash blocks -> where first seen."""
    found: dict[tuple[str, ...], str] = {}
    for path in DOCS:
        for block in code_blocks(path.read_text()):
            if block.language not in ("bash", "sh", "shell", "console"):
                continue
            text = re.sub(r"\\\n", " ", block.code)
            for line in text.splitlines():
                line = line.strip().removeprefix("$ ")
                for match in COMMAND.finditer(line):
                    found.setdefault(tuple(match.group(1).split()), f"{relative(path)}")
    return found


def test_bash_snippets_name_existing_commands():
    commands = documented_commands()
    assert ("bench",) in commands and ("train", "ram") in commands
    for words, where in commands.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = cli_main([*words, "--help"])
            except SystemExit as exit_:
                code = exit_.code
        assert code in (0, None), f"{where}: `glimpse-env {' '.join(words)}` does not exist"


MODULE = re.compile(
    r"(?:^|[;&|]\s*)(?:\S+=\S+\s+)*python3?\s+-m\s+((?:agents|glimpse_env)[\w.]*"
    r"(?:\s+[a-z][a-z0-9_]*)*)"
)
SCRIPT = re.compile(
    r"(?:^|[;&|]\s*)(?:\S+=\S+\s+)*python3?\s+((?:benchmarks|tools|examples)/\S+\.py)"
)


def documented_python_commands() -> dict[str, str]:
    """``python -m agents...`` modules (with their subcommand words) and ``python
    benchmarks/X.py`` scripts in bash blocks -> where first seen."""
    found: dict[str, str] = {}
    for path in DOCS:
        for block in code_blocks(path.read_text()):
            if block.language not in ("bash", "sh", "shell", "console"):
                continue
            for line in re.sub(r"\\\n", " ", block.code).splitlines():
                line = line.strip().removeprefix("$ ")
                for pattern in (MODULE, SCRIPT):
                    for match in pattern.finditer(line):
                        found.setdefault(match.group(1), relative(path))
    return found


def test_bash_snippets_name_existing_modules_and_scripts():
    import importlib

    found = documented_python_commands()
    assert "agents.ram.ablation" in found and "benchmarks/train_throughput.py" in found
    for name, where in found.items():
        if name.endswith(".py"):
            assert (REPO / name).is_file(), f"{where}: `python {name}`: no such script"
            continue
        name, *words = name.split()
        module = importlib.import_module(name)
        assert hasattr(module, "main"), f"{where}: `python -m {name}` has no main()"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = module.main([*words, "--help"])
            except SystemExit as exit_:
                code = exit_.code
        command = " ".join([name, *words])
        assert code in (0, None), f"{where}: `python -m {command} --help` exited {code}"
