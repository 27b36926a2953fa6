"""The wheel holds everything the app reads at run time: the container image installs Kairan
from its package (Dockerfile), not from a checkout, so a file missing from the wheel is a
feature missing in production that no test on the checkout would notice."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers.settings import REPO

PACKAGES = ("linebot_app", "models", "broadcasts", "migrations", "simulator")
# Files in the packages that only maintainers use (Babel's extraction settings).
NOT_AT_RUN_TIME = {"linebot_app/dashboard/babel.cfg"}


def test_the_wheel_holds_every_file_of_the_packages(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("kairan-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        path.relative_to(REPO).as_posix()
        for package in PACKAGES
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    } - NOT_AT_RUN_TIME
    assert sorted(expected - packaged) == []
