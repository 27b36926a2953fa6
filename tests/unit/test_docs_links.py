"""Every repository path the README and docs/*.md mention exists, so a module that moves takes its
documentation with it (issue #19: `broadcasts/compose.py` became
`broadcasts/circulars/compose.py`, and a newcomer following the old path finds nothing).

Two kinds of mention are checked, read from the text without importing anything:
- a path under one of the repository's own folders (`broadcasts/circulars/release.py`,
  `tests/helpers/`, `docs/sample-areas.csv`); a `*` in it must match at least one file;
- a dotted name in backquotes that starts with one of our packages
  (`broadcasts.households.families.household_key`): the longest prefix that is a module or a
  package must exist, and the next name, if any, must be defined at the top of that module.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from tests.helpers.settings import REPO

FOLDERS = (
    "broadcasts",
    "linebot_app",
    "models",
    "migrations",
    "simulator",
    "bench",
    "tests",
    "docs",
)
PACKAGES = ("broadcasts", "linebot_app", "models", "migrations", "simulator", "bench", "tests")

# A path starts at a folder of ours that is not itself part of a longer path or a URL, and runs
# over ASCII path characters (Japanese text or a closing bracket may follow it directly).
PATH = re.compile(rf"(?<![A-Za-z0-9_./~-])(?:{'|'.join(FOLDERS)})/[A-Za-z0-9_./*-]*")
DOTTED = re.compile(rf"`((?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")
# `bench/run.py`'s own extension, or prose such as "models.py": a file name, not a module path.
FILE_SUFFIXES = {"py", "md", "csv", "json", "po", "cfg", "toml", "txt", "html", "mako"}


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def path_mentions(text: str) -> list[tuple[int, str]]:
    """(line, path) of every path under one of our folders; sentence punctuation after it is
    not part of it."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in PATH.finditer(line):
            found.append((number, match.group().rstrip(".,:;")))
    return found


def dotted_mentions(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in DOTTED.finditer(line):
            name = match.group(1)
            if name.rsplit(".", 1)[1] not in FILE_SUFFIXES:
                found.append((number, name))
    return found


def path_exists(path: str) -> bool:
    if "*" in path:
        return any(REPO.glob(path.rstrip("/")))
    return (REPO / path).exists() and (not path.endswith("/") or (REPO / path).is_dir())


@cache
def top_level_names(module: Path) -> frozenset[str]:
    """Names a module defines or imports at its top (what `module.name` can reach)."""
    names: set[str] = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def dotted_problem(name: str) -> str | None:
    """None when `name` is a module or package of ours, or a name defined at the top of one."""
    parts = name.split(".")
    source = REPO / parts[0] / "__init__.py"
    resolved = 1
    for depth in range(2, len(parts) + 1):
        base = REPO.joinpath(*parts[:depth])
        if (base / "__init__.py").exists():
            source = base / "__init__.py"
        elif base.with_suffix(".py").exists():
            source = base.with_suffix(".py")
        else:
            break
        resolved = depth
    if resolved == len(parts) or parts[resolved] in top_level_names(source):
        return None
    return f"{'.'.join(parts[:resolved])} has no module or name {parts[resolved]}"


def problems(document: Path) -> list[str]:
    text = document.read_text(encoding="utf-8")
    where = document.relative_to(REPO)
    found = [
        f"{where}:{line}: {path} does not exist"
        for line, path in path_mentions(text)
        if not path_exists(path)
    ]
    for line, name in dotted_mentions(text):
        problem = dotted_problem(name)
        if problem:
            found.append(f"{where}:{line}: `{name}`: {problem}")
    return found


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_mentioned_path_exists(document: Path) -> None:
    assert problems(document) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see `broadcasts/circulars/release.py`.", ["broadcasts/circulars/release.py"]),
        ("(`docs/reading.md`）を見て", ["docs/reading.md"]),
        ("tests/helpers/waiting.py で待ちます", ["tests/helpers/waiting.py"]),
        ("models/ imports nothing, and bench/, too", ["models/", "bench/"]),
        ("https://example.org/docs/x.md and /work/wt/bench/run.py", []),
        ("a bench-0826-quiet.md file and subdocs/x.md", []),
    ],
)
def test_paths_are_found_in_prose(text: str, expected: list[str]) -> None:
    assert [path for _, path in path_mentions(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`broadcasts.households.families.household_key`", None),
        ("`broadcasts.core.i18n`", None),
        ("`linebot_app.gunicorn_conf`", None),
        ("`simulator.create_app()`", None),
        ("`broadcasts.households.household_key`", "broadcasts.households has no module or name"),
        ("`broadcasts.compose.Scope`", "broadcasts has no module or name compose"),
        ("`broadcasts.composing.drafts.Nothing`", "broadcasts.composing.drafts has no module or"),
    ],
)
def test_dotted_names_are_resolved(text: str, expected: str | None) -> None:
    [(_, name)] = dotted_mentions(text)
    problem = dotted_problem(name)
    assert problem == expected if expected is None else problem and problem.startswith(expected)


def test_file_names_are_not_taken_for_modules() -> None:
    assert dotted_mentions("`models.py`, `bench/run.py` and `tests.unit.test_layers`") == [
        (1, "tests.unit.test_layers")
    ]
