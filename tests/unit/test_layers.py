"""Imports point downwards only (docs/DESIGN: layers): `models/` knows nothing of ours, of Flask or
of click; `broadcasts/` knows nothing of Flask, click or `linebot_app/`; `simulator/` shares no code
with the bot, so it judges the bot rather than agreeing with it by construction.

Modules share through public names: no module of `linebot_app/` reaches for another's `_private`
name, and no file glues modules together with an import at its bottom (`noqa: E402`), a circle
in disguise.

Read with `ast` from the source files, so an import inside a function (a lazy import) counts as
much as one at the top, and nothing has to be imported to be checked."""

from __future__ import annotations

import ast
import io
import re
import tokenize
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
        "from tests.integration.circulars.test_drafts import draft",
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


# --- tests mirror the packages ------------------------------------------------------------------

# A newcomer finds a package's tests by its name: tests/unit and tests/integration hold one folder
# per package (a feature of broadcasts/ or linebot_app/, or a top-level package for its own
# modules), one level deep, each a package itself so that two test files may share a name.
MIRRORED_TIERS = ("unit", "integration")


def package_names(root: Path) -> set[str]:
    """Our top-level packages under `root` and the packages directly inside them."""
    return set(OURS) | {
        init.parent.name for package in OURS for init in (root / package).glob("*/__init__.py")
    }


def unmirrored_folders(tests: Path, packages: set[str]) -> list[str]:
    """Folders under the mirrored tiers of `tests` that name no package of `packages`, sit more
    than one level down, or are no package (no `__init__.py`)."""
    found: list[str] = []
    for tier in MIRRORED_TIERS:
        for folder in sorted((tests / tier).rglob("*")):
            if not folder.is_dir() or "__pycache__" in folder.parts:
                continue
            where = folder.relative_to(tests.parent)
            if folder.parent != tests / tier:
                found.append(f"{where}: nested")
            elif folder.name not in packages:
                found.append(f"{where}: names no package")
            elif not (folder / "__init__.py").exists():
                found.append(f"{where}: no __init__.py")
    return found


def test_a_test_folder_that_mirrors_nothing_is_found(tmp_path: Path) -> None:
    write(tmp_path / "tests" / "unit" / "core" / "__init__.py", "")
    write(tmp_path / "tests" / "unit" / "core" / "test_text.py", "")
    write(tmp_path / "tests" / "unit" / "misc" / "__init__.py", "")
    write(tmp_path / "tests" / "integration" / "delivery" / "test_worker.py", "")
    write(tmp_path / "tests" / "integration" / "dashboard" / "core" / "__init__.py", "")
    write(tmp_path / "tests" / "integration" / "dashboard" / "__init__.py", "")
    write(tmp_path / "tests" / "e2e" / "anything" / "test_x.py", "")
    assert unmirrored_folders(tmp_path / "tests", {"core", "delivery", "dashboard"}) == [
        "tests/unit/misc: names no package",
        "tests/integration/dashboard/core: nested",
        "tests/integration/delivery: no __init__.py",
    ]


def test_the_test_folders_mirror_the_packages() -> None:
    packages = package_names(REPO)
    assert {"core", "circulars", "delivery", "dashboard", "chat", "models"} <= packages
    assert unmirrored_folders(REPO / "tests", packages) == []


# --- private names ------------------------------------------------------------------------------

# Where another module's private names are refused. broadcasts/ and models/ hold none today
# either.
PRIVATE_CHECKED = ("linebot_app", "simulator")


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str, module: str) -> list[str]:
    """Private names of our modules that `source` uses: imported (`from x import _y`, or from a
    private module `x._y`), or read as an attribute of a name imported from ours
    (`compose._original`)."""
    found: list[str] = []
    imported: set[str] = set()
    package = module.split(".")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.split(".")[0] not in OURS:
                continue
            for alias in node.names:
                if is_private(alias.name) or any(map(is_private, name.split("."))):
                    found.append(f"{module}:{node.lineno} imports {name}.{alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in OURS:
                    continue
                if any(map(is_private, alias.name.split("."))):
                    found.append(f"{module}:{node.lineno} imports {alias.name}")
                imported.add(alias.asname or alias.name.split(".")[0])
    found.extend(
        f"{module}:{node.lineno} uses {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and is_private(node.attr)
        and isinstance(node.value, ast.Name)
        and node.value.id in imported
    )
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from linebot_app.dashboard.compose_views import QuotaUnknown, _quota",
        "from linebot_app.dashboard.views import _percent as percent",
        "from .views import _circular",
        "from linebot_app.dashboard import compose_views\ncompose_views._quota()",
        "import broadcasts.circulars.compose as compose\ncompose._original(c)",
        "from broadcasts.circulars._drafts import Draft",
        "def late():\n    from models import _naming\n",
    ],
)
def test_a_private_name_of_another_module_is_found(source: str) -> None:
    assert private_uses(source, "linebot_app.dashboard.paper") != []


@pytest.mark.parametrize(
    "source",
    [
        "from linebot_app.dashboard.common import QuotaUnknown, line_quota",
        "from sqlalchemy.orm import _private_thing",  # not ours
        "from models import Circular\nCircular.__table__",
        "def _mine():\n    pass\n_mine()",
        "import urllib3\nurllib3._collections",
    ],
)
def test_public_names_and_other_libraries_are_allowed(source: str) -> None:
    assert private_uses(source, "linebot_app.dashboard.paper") == []


@pytest.mark.parametrize("package", PRIVATE_CHECKED)
def test_modules_share_public_names_only(package: str) -> None:
    found = [
        problem
        for path in sorted((REPO / package).rglob("*.py"))
        for problem in private_uses(path.read_text(encoding="utf-8"), module_name(path))
    ]
    assert found == []


# --- imports at the bottom ----------------------------------------------------------------------

CHECKED_TREES = ("linebot_app", "models", "broadcasts", "migrations", "simulator", "tests", "bench")
E402_SILENCED = re.compile(r"noqa\s*:[^#]*\bE402\b", re.IGNORECASE)


def e402_silenced(source: str) -> list[int]:
    """Lines whose comment silences E402 (a module-level import not at the top). Comments only:
    a string that mentions the code is not one."""
    return [
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and E402_SILENCED.search(token.string)
    ]


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("import a\nfrom b import c  # noqa: E402, F401\n", [2]),
        ("from b import c  # noqa:E402\n", [1]),
        ("from b import c  # NOQA: F401,E402\n", [1]),
        ("from b import c  # noqa: F401\n", []),
        ('text = "# noqa: E402"\n', []),
    ],
)
def test_a_silenced_bottom_import_is_found(source: str, lines: list[int]) -> None:
    assert e402_silenced(source) == lines


def test_no_file_silences_an_import_below_the_top() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}"
        for tree in CHECKED_TREES
        for path in sorted((REPO / tree).rglob("*.py"))
        for line in e402_silenced(path.read_text(encoding="utf-8"))
    ]
    assert found == []


# --- layout -------------------------------------------------------------------------------------

# A newcomer finds a feature's package by its name and reads a file in one sitting: no file over
# MAX_LINES, a short top level in broadcasts/ with the features in packages, and every package
# saying what it owns in its first two lines.
LAYOUT_TREES = ("linebot_app", "broadcasts", "models", "simulator")
MAX_LINES = 600
MAX_TOP_LEVEL_MODULES = 12
MIN_FEATURE_PACKAGES = 5
MAX_SUMMARY_LINES = 2
PACKAGED_TREES = ("broadcasts", "linebot_app")


def long_files(root: Path, limit: int = MAX_LINES) -> list[str]:
    return [
        f"{path.relative_to(root)}: {lines} lines"
        for path in sorted(root.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > limit
    ]


def top_level_modules(package: Path) -> list[str]:
    """The package's own modules beside its subpackages; its `__init__.py` is the package itself."""
    return sorted(path.name for path in package.glob("*.py") if path.name != "__init__.py")


def feature_packages(package: Path) -> list[str]:
    return sorted(path.parent.name for path in package.glob("*/__init__.py"))


def source_directories(root: Path) -> list[Path]:
    """`root` and every directory under it holding Python (templates and locales hold none)."""
    return sorted({path.parent for path in root.rglob("*.py") if "__pycache__" not in path.parts})


def unsaid_packages(root: Path) -> list[str]:
    """Directories of Python under `root` that do not say, in the first paragraph of their
    `__init__.py`'s docstring and within two lines, what they own."""
    found: list[str] = []
    for directory in source_directories(root):
        init = directory / "__init__.py"
        where = init.relative_to(root.parent)
        if not init.exists():
            found.append(f"{where}: missing")
            continue
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        if not docstring:
            found.append(f"{where}: no docstring")
            continue
        summary = docstring.split("\n\n")[0].splitlines()
        if len(summary) > MAX_SUMMARY_LINES:
            found.append(f"{where}: first paragraph of {len(summary)} lines")
    return found


def classes_named(name: str, sources: dict[str, str]) -> list[str]:
    """Where `sources` (module → text) define a class `name`, nested ones included."""
    return [
        f"{module}:{node.lineno}"
        for module, source in sources.items()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef) and node.name == name
    ]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_over_the_limit_is_found(tmp_path: Path) -> None:
    write(tmp_path / "short.py", "x = 1\n" * MAX_LINES)
    write(tmp_path / "feature" / "long.py", "x = 1\n" * (MAX_LINES + 1))
    assert long_files(tmp_path) == [f"feature/long.py: {MAX_LINES + 1} lines"]


@pytest.mark.parametrize("tree", LAYOUT_TREES)
def test_no_file_is_over_the_limit(tree: str) -> None:
    assert long_files(REPO / tree) == []


def test_a_flat_package_is_found(tmp_path: Path) -> None:
    write(tmp_path / "__init__.py", '"""Owns x."""\n')
    for number in range(MAX_TOP_LEVEL_MODULES + 1):
        write(tmp_path / f"module_{number}.py", "")
    write(tmp_path / "feature" / "__init__.py", '"""Owns y."""\n')
    write(tmp_path / "templates" / "page.html", "")
    assert len(top_level_modules(tmp_path)) > MAX_TOP_LEVEL_MODULES
    assert feature_packages(tmp_path) == ["feature"]


def test_broadcasts_keeps_its_features_in_packages() -> None:
    broadcasts = REPO / "broadcasts"
    assert len(top_level_modules(broadcasts)) <= MAX_TOP_LEVEL_MODULES
    assert len(feature_packages(broadcasts)) >= MIN_FEATURE_PACKAGES


@pytest.mark.parametrize(
    ("init", "problem"),
    [
        (None, "missing"),
        ("from . import x\n", "no docstring"),
        ('"""One.\nTwo.\nThree."""\n', "first paragraph of 3 lines"),
        ('"""\n\n"""\n', "no docstring"),
    ],
)
def test_a_package_that_does_not_say_what_it_owns_is_found(
    tmp_path: Path, init: str | None, problem: str
) -> None:
    write(tmp_path / "app" / "__init__.py", '"""The app."""\n')
    write(tmp_path / "app" / "feature" / "steps.py", "")
    if init is not None:
        write(tmp_path / "app" / "feature" / "__init__.py", init)
    assert unsaid_packages(tmp_path / "app") == [f"app/feature/__init__.py: {problem}"]


def test_a_two_line_summary_may_be_followed_by_more(tmp_path: Path) -> None:
    write(tmp_path / "app" / "__init__.py", '"""Owns this,\nand that.\n\nMore.\nAnd more.\n"""\n')
    write(tmp_path / "app" / "templates" / "page.html", "")
    assert unsaid_packages(tmp_path / "app") == []


@pytest.mark.parametrize("tree", PACKAGED_TREES)
def test_every_package_says_what_it_owns(tree: str) -> None:
    assert unsaid_packages(REPO / tree) == []


def test_a_second_scope_is_found() -> None:
    sources = {
        "broadcasts.staff.scope": "class Scope:\n    pass\n",
        "broadcasts.circulars.compose": "def f():\n    class Scope:\n        pass\n",
        "linebot_app.chat.words": "Scope = 1\nclass Scoped:\n    pass\n",
    }
    assert classes_named("Scope", sources) == [
        "broadcasts.staff.scope:1",
        "broadcasts.circulars.compose:2",
    ]


def test_there_is_one_scope() -> None:
    sources = {
        module_name(path): path.read_text(encoding="utf-8")
        for tree in ("linebot_app", "broadcasts", "models")
        for path in sorted((REPO / tree).rglob("*.py"))
    }
    found = classes_named("Scope", sources)
    assert len(found) == 1, found
