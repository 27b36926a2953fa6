"""What every benchmark script shares: throwaway databases, the processes it measures, and the
one JSON shape (`Figure`) the driver (`bench/run.py`) turns into docs/BENCHMARKS.md.

Everything runs on 127.0.0.1. Every process a benchmark starts is stopped by the benchmark,
whatever happens (`Processes` is a context manager).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from models.session import tune

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
# Throwaway settings: nothing here talks to the real LINE or outlives the run.
SECRETS: dict[str, str] = {
    "LINE_CHANNEL_SECRET": secrets.token_hex(16),
    "LINE_CHANNEL_ACCESS_TOKEN": secrets.token_hex(16),
    "SECRET_KEY": secrets.token_urlsafe(32),
    "KAIRAN_PUBLIC_URL": "https://kairan.bench.invalid",
}
KAIRAN_KEYS = {
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "LINE_API_BASE_URL",
    "LINE_API_DATA_BASE_URL",
    "SECRET_KEY",
    "KAIRAN_PUBLIC_URL",
    "DATABASE_URL",
    "KAIRAN_DEMO",
    "KAIRAN_LOG_LEVEL",
    "WEB_CONCURRENCY",
    "PORT",
    "HOST",
}


@dataclass
class Figure:
    """One measured figure. `baseline` is measured in the same run on the same machine;
    `ratio` is value / baseline. `target` is the issue's target, `met` whether it was met."""

    bench: str
    database: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def write_figures(path: Path | None, figures: list[Figure]) -> None:
    if path is not None:
        path.write_text(json.dumps([asdict(f) for f in figures], ensure_ascii=False, indent=1))


def show(figure: Figure) -> None:
    """One line per figure on stdout, as it is measured (the run's log)."""
    ratio = f"  ratio {figure.ratio:.2f} to {figure.baseline_name}" if figure.ratio else ""
    met = "" if figure.met is None else ("  target met" if figure.met else "  TARGET MISSED")
    print(
        f"[{figure.bench}/{figure.database}] {figure.name}: {figure.value:.4g} {figure.unit}"
        f"{ratio}{met}",
        flush=True,
    )


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))
    return ordered[min(len(ordered), rank) - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- databases ----------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(kind: str, label: str, postgres: str = DEFAULT_POSTGRES) -> Iterator[str]:
    """A new, empty, migrated database for one benchmark, removed afterwards.

    PostgreSQL: `kairan_bench_<label>_<pid>` created on the server and dropped at the end.
    SQLite: a file in a temporary directory.
    """
    from linebot_app.schema import upgrade
    from models.session import normalise_database_url

    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kairan-bench-") as directory:
            url = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
            engine = create_engine(url, poolclass=NullPool)
            upgrade(engine)
            engine.dispose()
            yield url
        return
    name = f"kairan_bench_{label}_{os.getpid()}"
    server = create_engine(
        normalise_database_url(f"{postgres}/postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_database_url(f"{postgres}/{name}")
    try:
        engine = create_engine(url, poolclass=NullPool)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def analyze(engine: Engine) -> None:
    """What autovacuum would have done long before a real release: fresh planner statistics
    (PostgreSQL; SQLite plans without them)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()


def engine_for(url: str) -> Engine:
    return tune(create_engine(url, poolclass=NullPool))


def connection_killer(
    url: str, stop: threading.Event, every: float, kills: list[int], spare: str = ""
) -> None:
    """`pg_terminate_backend` on every other client connection to the database of `url`, every
    `every` seconds until `stop`: requests, claims and records die wherever they are. Appends
    how many it killed each round to `kills`. Connections whose `application_name` is `spare`
    (when given) are left alone."""
    engine = engine_for(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while not stop.wait(every):
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                    " AND (:spare = '' OR application_name <> :spare)"
                ),
                {"spare": spare},
            ).scalar_one()
            kills.append(int(killed))
    engine.dispose()


# --- processes ----------------------------------------------------------------------------------


def environment(**settings: str) -> dict[str, str]:
    """This machine's environment without any Kairan setting a developer may have exported,
    plus the benchmark's own."""
    env = {k: v for k, v in os.environ.items() if k not in KAIRAN_KEYS}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **SECRETS, **settings}


class Processes:
    """Processes a benchmark starts: each in a session of its own, all stopped on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []
        self._files: list[IO[bytes]] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *_exc: object) -> None:
        for process in list(self.running):
            self.stop(process)
        for handle in self._files:
            handle.close()

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        output = (self.logs / f"{name}.log").open("ab")
        self._files.append(output)
        process = subprocess.Popen(
            argv,
            env=env,
            # A directory without .env: settings come from `env` only.
            cwd=self.logs,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 30) -> int:
        """SIGTERM to the process group (gunicorn's workers too), SIGKILL if it lingers."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        if process in self.running:
            self.running.remove(process)
        return code


def wait_for_http(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def wait_for_log(
    path: Path, needle: bytes, process: subprocess.Popen[bytes], seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while needle not in path.read_bytes():
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited: {path.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.args!r}: no {needle!r} after {seconds} s")
        time.sleep(0.02)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes have used so far (/proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: current)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def start_simulator(
    processes: Processes, name: str, *, rate_limits: bool, env: dict[str, str]
) -> tuple[str, subprocess.Popen[bytes]]:
    """`kairan simulator` as a subprocess (it then does not share the benchmark's GIL), unlimited
    quota; returns its base URL."""
    port = free_port()
    argv = [str(BIN / "kairan"), "simulator", "--port", str(port), "--quota", "-1"]
    if not rate_limits:
        argv.append("--no-rate-limits")
    env = {**env, "KAIRAN_LOG_LEVEL": "WARNING"}
    process = processes.start(name, argv, env)
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/_sim/rate-limits", process)
    return base, process


def line_round_trip(base: str, seconds: float, path: str) -> None:
    """Make the simulator take `seconds` over each call to `path`, as LINE does from across the
    internet (the simulator, on this machine, answers at once)."""
    control(base, "POST", "/faults", {"slow": 1.0, "slowSeconds": seconds, "paths": [path]})


def control(base: str, method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
    """The simulator's control API (`/_sim`)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{base}/_sim{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())
