"""Kairan's processes as the Procfile starts them: their lines, a free port, a clean environment,
waiting for an address to answer, whether a process holds a signal, and stopping a process with
its children."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers.settings import REPO, TEST_SETTINGS
from tests.helpers.waiting import deadline

BIN = Path(sys.executable).parent


def procfile() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The machine's environment without any Kairan setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_SETTINGS and k != "DATABASE_URL"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOST"] = "127.0.0.1"
    return {**env, **settings}


def settings_for(tmp_path: Path) -> dict[str, str]:
    return {**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path / 'kairan.sqlite3'}"}


def wait_for(url: str) -> int:
    give_up = deadline()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.2)


def holds_signal(pid: int, signum: int) -> bool:
    """Whether process `pid` has blocked `signum` (its main thread's SigBlk): from then on the
    signal waits until the process takes it. False once the process has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except FileNotFoundError:
        return False
    blocked = next(line for line in status.splitlines() if line.startswith("SigBlk:"))
    return bool(int(blocked.split()[1], 16) >> (signum - 1) & 1)


def start_web(cwd: Path, env: dict[str, str], **options: Any) -> subprocess.Popen[Any]:
    """The Procfile's web line, in a session of its own (see `stop`); `options` go to Popen."""
    return subprocess.Popen(
        procfile()["web"], shell=True, cwd=cwd, env=env, start_new_session=True, **options
    )


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGINT to the process's whole group (it runs in a session of its own, children
    included), SIGKILL if it has not gone within 15 s; then its pipes are closed, or their
    ResourceWarning (an error under `filterwarnings = error`) would fail whichever test the
    garbage collector happens to run in."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
