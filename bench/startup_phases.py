"""Where a `kairan` process's start-up CPU goes (issue #19 item 6): each piece a fresh interpreter.

`bench/startup.py` times the Procfile's processes from spawn to ready; this script says what that
time is made of. Each step below runs in a new interpreter that imports or builds that much and
then leaves with `os._exit(0)` (a process at "ready" has torn nothing down, and an interpreter's
teardown of a few thousand modules is not small). Its CPU is the growth of this process's
`getrusage(RUSAGE_CHILDREN)`. The steps alternate, `--rounds` times; figures are medians, and the
ratio is to the first step's median, `python -c "import flask, sqlalchemy, click"`, measured in
the same rounds. Against an empty, migrated SQLite database; nothing talks to LINE.

Not part of `make bench`: an analysis tool whose output belongs in the findings of
docs/BENCHMARKS.md when start-up is looked at.

    python bench/startup_phases.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import environment, scratch_database

CHECKED = "from linebot_app.startup import check_startup; check_startup()"
STEPS: list[tuple[str, str]] = [
    ("baseline: `import flask, sqlalchemy, click`", "import flask, sqlalchemy, click"),
    ("`import linebot_app` (settings, models, extensions)", "import linebot_app"),
    (
        "`create_app()` (every blueprint)",
        "from linebot_app import create_app; create_app()",
    ),
    ("`check_startup()`: `create_app()` + the schema check", CHECKED),
    (
        "`check_startup()` + `import linebot.v3.messaging` (what worker and clock load)",
        f"{CHECKED}; import linebot.v3.messaging",
    ),
    (
        "gunicorn + `check_startup()` + the webhook handlers (what the web's master loads)",
        "import gunicorn.app.wsgiapp, linebot_app.gunicorn_conf; "
        f"{CHECKED}; import linebot_app.chat.routes",
    ),
    ("the interpreter alone: `python -c pass`", "pass"),
    ("`import linebot.v3.messaging` alone", "import linebot.v3.messaging"),
    ("`import aiohttp` alone (line-bot-sdk's async clients)", "import aiohttp"),
    (
        "Alembic's migration context and script directory alone (the schema check)",
        "from alembic.runtime.migration import MigrationContext; "
        "from alembic.script import ScriptDirectory",
    ),
]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(code: str, env: dict[str, str], cwd: Path) -> float:
    before = children_cpu()
    subprocess.run(
        [sys.executable, "-c", f"{code}\nimport os; os._exit(0)"], env=env, cwd=cwd, check=True
    )
    return children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {name: [] for name, _ in STEPS}
    loads = [os.getloadavg()[0]]
    with (
        scratch_database("sqlite", "phases") as url,
        tempfile.TemporaryDirectory(prefix="kairan-phases-") as work,
    ):
        env = environment(DATABASE_URL=url, LINE_API_BASE_URL="http://127.0.0.1:9")
        for _ in range(args.rounds):
            for name, code in STEPS:
                runs[name].append(cpu_of(code, env, Path(work)))
            loads.append(os.getloadavg()[0])
    baseline = statistics.median(runs[STEPS[0][0]])
    print(
        f"{args.rounds} rounds; 1-min load average ({os.cpu_count()} CPUs) at the start and after"
        " each round: " + ", ".join(f"{load:.2f}" for load in loads)
    )
    print("| step | CPU (median) | ratio to the baseline | runs (s) |")
    print("| --- | --- | --- | --- |")
    for name, _ in STEPS:
        median = statistics.median(runs[name])
        each = ", ".join(f"{value:.2f}" for value in runs[name])
        print(f"| {name} | {median:.3f} s | {median / baseline:.2f} | {each} |")


if __name__ == "__main__":
    main()
