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


def modules_after_building_the_app(directory: Path) -> set[str]:
    env = {**os.environ, **TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{directory / 'k.db'}"}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", BUILD_THE_APP],
        cwd=directory,  # no .env here: the settings come from `env`
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_building_the_app_does_not_load_the_pdf_library(tmp_path: Path) -> None:
    # fpdf2 (and its fontTools) makes join flyers only: about 0.2 s of CPU per process.
    assert not {"fpdf", "fontTools"} & modules_after_building_the_app(tmp_path)
