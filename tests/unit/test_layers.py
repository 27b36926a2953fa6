"""Imports point downwards only (docs/DESIGN: layers): `models/` knows nothing of ours, of Flask or
of click; `broadcasts/` knows nothing of Flask, click or `linebot_app/`; `simulator/` shares no code
with the bot, so it judges the bot rather than agreeing with it by construction.

Read with `ast` from the source files, so an import inside a function (a lazy import) counts as
much as one at the top, and nothing has to be imported to be checked."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers.settings import REPO

OURS = ("models", "broadcasts", "linebot_app", "simulator")
FLASK = ("flask", "flask_*", "werkzeug", "jinja2")
CLICK = ("click",)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "models": ("broadcasts", "linebot_app", "simulator", *FLASK, *CLICK),
    "broadcasts": ("linebot_app", *FLASK, *CLICK),
    "simulator": ("models", "broadcasts", "linebot_app"),
}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, the text of `module` (the
    file's dotted path: `models.__init__` for a package's own file); `from x import y` gives
    both x and x.y, since y may be a module."""
    package = module.split(".")
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # `from . import x` in a.b.c means a.b; each further dot climbs one package.
                base = package[: len(package) - node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            prefix = f"{name}." if name else ""
            found.extend((node.lineno, f"{prefix}{alias.name}") for alias in node.names)
    return found


def matches(name: str, pattern: str) -> bool:
    top = name.split(".")[0]
    return top.startswith(pattern[:-1]) if pattern.endswith("*") else top == pattern


def violations(layer: str, source: str, module: str) -> list[str]:
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported_modules(source, module)
        if any(matches(name, pattern) for pattern in FORBIDDEN[layer])
    ]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


@pytest.mark.parametrize(
    ("layer", "module", "source"),
    [
        ("models", "models.residents", "from broadcasts.core.clock import SystemClock"),
        ("models", "models.residents", "import flask"),
        ("models", "models.residents", "from flask_sqlalchemy import SQLAlchemy"),
        ("models", "models.residents", "def later():\n    import click\n"),
        ("models", "models.residents", "from linebot_app.config import Settings"),
        ("models", "models.__init__", "from .. import simulator"),
        ("broadcasts", "broadcasts.delivery.steps", "from flask import current_app"),
        ("broadcasts", "broadcasts.delivery.steps", "import click"),
        ("broadcasts", "broadcasts.delivery.steps", "from linebot_app.extensions import db"),
        (
            "broadcasts",
            "broadcasts.delivery.steps",
            "def late():\n    from linebot_app import ids\n",
        ),
        ("simulator", "simulator.app", "from models import Resident"),
        ("simulator", "simulator.app", "import broadcasts.core.postbacks"),
        ("simulator", "simulator.app", "from linebot_app import create_app"),
        ("simulator", "simulator.app", "from .. import models"),
    ],
)
def test_an_upward_import_is_found(layer: str, module: str, source: str) -> None:
    assert violations(layer, source, module) != []


@pytest.mark.parametrize(
    ("layer", "module", "source"),
    [
        ("models", "models.__init__", "from models.base import Base\nfrom . import types"),
        ("models", "models.residents", "from sqlalchemy.orm import Mapped"),
        (
            "broadcasts",
            "broadcasts.delivery.steps",
            "from models import Delivery\nfrom . import line",
        ),
        ("broadcasts", "broadcasts.delivery.steps", "import linebot.v3.messaging"),
        ("broadcasts", "broadcasts.core.i18n", "import babel.support"),
        ("simulator", "simulator.app", "from flask import Flask\nfrom simulator.state import X"),
        ("simulator", "simulator.app", "from linebot.v3.messaging import TextMessage"),
    ],
)
def test_a_downward_or_outside_import_is_allowed(layer: str, module: str, source: str) -> None:
    assert violations(layer, source, module) == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_the_tree_keeps_its_layers(layer: str) -> None:
    paths = sorted((REPO / layer).rglob("*.py"))
    assert paths, f"no sources under {layer}/"
    found = [
        problem
        for path in paths
        for problem in violations(layer, path.read_text(encoding="utf-8"), module_name(path))
    ]
    assert found == []


def imports_of_tests(source: str, module: str) -> list[str]:
    """Imports of a test module or a conftest: what tests share lives in tests/helpers (plain
    code) or in a conftest's fixtures, which pytest hands out without an import."""
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported_modules(source, module)
        if name.startswith("tests.")
        and any(part.startswith("test_") or part == "conftest" for part in name.split(".")[1:])
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from tests.conftest import FakeClock",
        "from tests.e2e.test_processes import environment",
        "from tests.e2e.conftest import started",
        "from ..simulator.conftest import TOKEN",
        "from tests.integration import test_dashboard_stats",
    ],
)
def test_a_test_importing_another_test_module_is_found(source: str) -> None:
    assert imports_of_tests(source, "tests.e2e.test_x") != []


def test_tests_share_code_through_helpers_only() -> None:
    tests = REPO / "tests"
    found = [
        problem
        for path in sorted(tests.rglob("*.py"))
        for problem in imports_of_tests(path.read_text(encoding="utf-8"), module_name(path))
    ]
    assert found == []
