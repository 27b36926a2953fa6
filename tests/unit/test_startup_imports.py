"""What every `kairan` process pays before it can say anything: on a busy machine each second of
start-up CPU is several seconds of waiting. Libraries only one rarely used feature needs are
imported where that feature runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.settings import REPO, TEST_SETTINGS
from tests.helpers.waiting import PATIENCE

BUILD_THE_APP = (
    "import json, sys\n"
    "from linebot_app import create_app\n"
    "create_app()\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def run_python(directory: Path, code: str, *args: str) -> list[str]:
    """Lines `code` printed, run in a fresh interpreter on a SQLite database in `directory`,
    which is also its temporary directory."""
    env = {**os.environ, **TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{directory / 'k.db'}"}
    env["PYTHONPATH"] = str(REPO)
    # What it makes in the temporary directory (gunicorn_conf's metrics directory, which only
    # gunicorn's exit would remove) goes with the test's own directory.
    env["TMPDIR"] = str(directory)
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=directory,  # no .env here: the settings come from `env`
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def modules_after_building_the_app(directory: Path) -> set[str]:
    return set(json.loads(run_python(directory, BUILD_THE_APP)[-1]))


def test_building_the_app_does_not_load_the_pdf_library(tmp_path: Path) -> None:
    # fpdf2 (and its fontTools) makes join flyers only: about 0.2 s of CPU per process.
    assert not {"fpdf", "fontTools"} & modules_after_building_the_app(tmp_path)


# Runs `kairan` commands one after the other in one interpreter, as the console script does, and
# prints after each which modules of line-bot-sdk (and of Alembic) had been loaded by then.
RUN_COMMANDS = (
    "import json, sys\n"
    "from linebot_app.cli import cli\n"
    "for args in json.loads(sys.argv[1]):\n"
    "    cli.main(args, prog_name='kairan', standalone_mode=False)\n"
    "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('linebot', 'alembic'))\n"
    "    print(json.dumps([' '.join(args), loaded]))\n"
)


def loaded_after_each(directory: Path, commands: list[list[str]]) -> dict[str, set[str]]:
    output = run_python(directory, RUN_COMMANDS, json.dumps(commands))
    reports = [json.loads(line) for line in output if line.startswith('["')]
    assert [command for command, _ in reports] == [" ".join(args) for args in commands]
    return {command: set(loaded) for command, loaded in reports}


def sdk(modules: set[str]) -> set[str]:
    return {name for name in modules if name.split(".")[0] == "linebot"}


def test_help_loads_neither_the_line_sdk_nor_alembic(tmp_path: Path) -> None:
    # linebot.v3.messaging's models cost about 1.5 s of CPU, Alembic (with Mako and Pygments)
    # about 0.3 s: `kairan --help` needs neither.
    assert loaded_after_each(tmp_path, [["--help"]]) == {"--help": set()}


def test_commands_that_do_not_talk_to_line_do_not_load_its_sdk(tmp_path: Path) -> None:
    areas = REPO / "docs" / "sample-areas.csv"
    commands = [
        ["db", "upgrade"],
        ["import", "areas", str(areas)],
        ["circulars", "list"],
        ["staff", "invite", "--role", "admin"],
        ["districts", "list"],
    ]
    loaded = loaded_after_each(tmp_path, commands)
    assert {command: sdk(modules) for command, modules in loaded.items()} == {
        " ".join(args): set() for args in commands
    }


START_THE_WEB = (
    "import json, os, sys\n"
    "from linebot_app.cli import cli\n"
    "cli.main(['db', 'upgrade'], prog_name='kairan', standalone_mode=False)\n"
    "from linebot_app import gunicorn_conf\n"
    "gunicorn_conf.on_starting(None)\n"
    "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_the_web_loads_the_line_sdk_before_its_workers_fork(tmp_path: Path) -> None:
    # LINE abandons a webhook after 2 s: the first one must not wait for the SDK to load.
    *_, metrics_dir, modules = run_python(tmp_path, START_THE_WEB)
    assert {"linebot.v3.messaging", "linebot.v3.webhooks", "linebot_app.chat.routes"} <= set(
        json.loads(modules)
    )
    # Without gunicorn's exit, nothing removes the metrics directory: it must be the test's.
    assert Path(metrics_dir).is_relative_to(tmp_path)
