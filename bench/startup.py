"""Benchmark: what a `kairan` process pays before it can say anything (issues #18 item 22, #19
item 6).

1. CPU (user + system) of `kairan --help`, and of `kairan districts list` on an empty, migrated
   database (the app built, the schema checked, one query), against the baseline
   `python -c "import flask, sqlalchemy, click"`: the least a Flask + SQLAlchemy command line
   can cost. Each run is one subprocess, run to its end; its CPU is the growth of this
   process's `getrusage(RUSAGE_CHILDREN)` over it (the children run one at a time, and the
   interpreter is the same one). The three alternate, `--repeat` times each; figures are
   medians. Target: `kairan --help` ≤ 3× the baseline.
2. For each database, the Procfile's three processes started one at a time, `--ready-repeat`
   times each, against a migrated, empty database and `kairan simulator` (LINE_API_BASE_URL),
   timed from spawn to ready: web (gunicorn, WEB_CONCURRENCY=2) to its first `GET /healthz` 200
   (polled every 0.1 s), worker to its "worker … started" log line and clock to APScheduler's
   "Scheduler started" (the log is polled every 0.02 s). Before each round the baseline runs once
   too, timed from spawn to exit (wall and CPU), so that every ratio compares processes started
   within the same minute. Target: under 2 s on an idle machine; the load average at each start
   is in the note, since a busy machine takes longer whatever the code does.

    python bench/startup.py [--repeat 9] [--databases sqlite,postgresql] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BIN,
    DEFAULT_POSTGRES,
    Figure,
    Processes,
    cpu_seconds,
    environment,
    free_port,
    scratch_database,
    show,
    start_simulator,
    wait_for_http,
    wait_for_log,
    write_figures,
)

TARGET_RATIO = 3.0
TARGET_READY_SECONDS = 2.0
BASELINE = [sys.executable, "-c", "import flask, sqlalchemy, click"]
BASELINE_NAME = '`python -c "import flask, sqlalchemy, click"`, CPU'
BASELINE_WALL_NAME = '`python -c "import flask, sqlalchemy, click"`, spawn → exit'


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """CPU seconds of one subprocess run to its end; it must succeed."""
    before = children_cpu()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    spent = children_cpu() - before
    if result.returncode != 0:
        raise SystemExit(f"{argv} failed ({result.returncode}):\n{result.stderr.decode()[-2000:]}")
    return spent


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def baseline_run(env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds from spawn to exit, CPU seconds) of one baseline run."""
    started = time.monotonic()
    spent = cpu_of(BASELINE, env, cwd)
    return time.monotonic() - started, spent


def cpu_figures(repeat: int, work: Path) -> list[Figure]:
    figures: list[Figure] = []
    note = f"median of {repeat} runs each, interleaved; at the start: {load()}"
    with scratch_database("sqlite", "startup") as url:
        env = environment(DATABASE_URL=url, LINE_API_BASE_URL="http://127.0.0.1:9")
        runs: dict[str, list[float]] = {"baseline": [], "help": [], "list": []}
        for _ in range(repeat):
            runs["baseline"].append(cpu_of(BASELINE, env, work))
            runs["help"].append(cpu_of([str(BIN / "kairan"), "--help"], env, work))
            runs["list"].append(cpu_of([str(BIN / "kairan"), "districts", "list"], env, work))
    baseline = statistics.median(runs["baseline"])
    help_cpu = statistics.median(runs["help"])
    list_cpu = statistics.median(runs["list"])
    common: dict[str, Any] = {"bench": "startup", "database": "—"}
    figures.append(
        Figure(
            **common,
            name="`kairan --help`, CPU (user + system)",
            value=help_cpu,
            unit="s",
            baseline=baseline,
            baseline_name=BASELINE_NAME,
            ratio=help_cpu / baseline,
            target=f"≤ {TARGET_RATIO:g}× the baseline",
            met=help_cpu / baseline <= TARGET_RATIO,
            note=f"{note}; runs (s): " + ", ".join(f"{v:.2f}" for v in runs["help"]),
        )
    )
    figures.append(
        Figure(
            **common,
            name="`kairan districts list` (empty SQLite database), CPU (user + system)",
            value=list_cpu,
            unit="s",
            baseline=baseline,
            baseline_name=BASELINE_NAME,
            ratio=list_cpu / baseline,
            note="the app built, the schema checked, one query; runs (s): "
            + ", ".join(f"{v:.2f}" for v in runs["list"])
            + "; baseline runs (s): "
            + ", ".join(f"{v:.2f}" for v in runs["baseline"]),
        )
    )
    return figures


def until_ready(
    processes: Processes,
    name: str,
    argv: list[str],
    env: dict[str, str],
    *,
    url: str | None = None,
    needle: bytes = b"",
    settled: bytes = b"",
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) from spawn to ready (`url`
    answers, or `needle` is in the log); then the process is stopped."""
    started = time.monotonic()
    process = processes.start(name, argv, env)
    if url is not None:
        wait_for_http(url, process)
    else:
        wait_for_log(processes.logs / f"{name}.log", needle, process, 120)
    seconds = time.monotonic() - started
    cpu = cpu_seconds(family(process.pid))
    # Stopped only once `settled` is logged: the clock stopped during its first tick has hung
    # until SIGKILL (a fault of its own, not what this measures).
    wait_for_log(processes.logs / f"{name}.log", settled, process, 120)
    code = processes.stop(process)
    if code not in (0, -15):
        raise SystemExit(f"{name} stopped with {code}")
    return seconds, cpu


def family(pid: int) -> list[int]:
    """The process and its descendants (gunicorn's workers)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids += family(int(child))
    return pids


def ready_figures(database: str, postgres: str, repeat: int, logs: Path) -> list[Figure]:
    found: dict[str, list[tuple[float, float]]] = {"web": [], "worker": [], "clock": []}
    baselines: list[tuple[float, float]] = []
    loads: list[float] = []
    with scratch_database(database, "startup", postgres) as url, Processes(logs) as processes:
        env = environment(DATABASE_URL=url, WEB_CONCURRENCY="2")
        simulator, _ = start_simulator(
            processes, f"startup-{database}-simulator", rate_limits=False, env=env
        )
        env["LINE_API_BASE_URL"] = simulator
        for i in range(repeat):
            loads.append(os.getloadavg()[0])
            baselines.append(baseline_run(env, logs))
            port = free_port()
            web_argv = [
                str(BIN / "gunicorn"),
                "--config",
                "python:linebot_app.gunicorn_conf",
                "linebot_app:create_app()",
            ]
            found["web"].append(
                until_ready(
                    processes,
                    f"startup-{database}-web-{i}",
                    web_argv,
                    {**env, "PORT": str(port), "HOST": "127.0.0.1"},
                    url=f"http://127.0.0.1:{port}/healthz",
                )
            )
            for kind, argv, needle, settled in (
                ("worker", [str(BIN / "kairan"), "worker"], b" started with ", b""),
                ("clock", [str(BIN / "kairan"), "scheduler"], b"Scheduler started", b" tick: "),
            ):
                name = f"startup-{database}-{kind}-{i}"
                found[kind].append(
                    until_ready(processes, name, argv, env, needle=needle, settled=settled)
                )
    base_wall = statistics.median(wall for wall, _ in baselines)
    base_cpu = statistics.median(cpu for _, cpu in baselines)
    note = (
        f"median of {repeat} starts; 1-min load average at each start ({os.cpu_count()} CPUs): "
        + ", ".join(f"{one:.2f}" for one in loads)
    )
    base_note = (
        "baseline run before each round, wall (s): "
        + ", ".join(f"{wall:.2f}" for wall, _ in baselines)
        + "; CPU (s): "
        + ", ".join(f"{cpu:.2f}" for _, cpu in baselines)
    )
    figures = []
    what = {
        "web": "web (gunicorn, 2 workers): spawn → first `GET /healthz` 200",
        "worker": "worker (`kairan worker`): spawn → “worker … started”",
        "clock": "clock (`kairan scheduler`): spawn → APScheduler’s “Scheduler started”",
    }
    for kind, starts in found.items():
        walls = [wall for wall, _ in starts]
        cpus = [cpu for _, cpu in starts]
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        figures.append(
            Figure(
                bench="startup",
                database=database,
                name=f"{what[kind]}, wall time",
                value=wall,
                unit="s",
                baseline=base_wall,
                baseline_name=BASELINE_WALL_NAME,
                ratio=wall / base_wall,
                target=f"< {TARGET_READY_SECONDS:g} s on an idle machine",
                met=wall < TARGET_READY_SECONDS,
                note=f"{note}; starts (s): " + ", ".join(f"{v:.2f}" for v in walls),
            )
        )
        figures.append(
            Figure(
                bench="startup",
                database=database,
                name=f"{what[kind]}, CPU (user + system, with its children)",
                value=cpu,
                unit="s",
                baseline=base_cpu,
                baseline_name=BASELINE_NAME,
                ratio=cpu / base_cpu,
                note="less sensitive than wall time to the machine's load; starts (s): "
                + ", ".join(f"{v:.2f}" for v in cpus)
                + ("; " + base_note if kind == "web" else ""),
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="CPU runs of each command.")
    parser.add_argument("--ready-repeat", type=int, default=3, help="Starts of each process.")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--json", type=Path, help="Write the figures here (for bench/run.py).")
    parser.add_argument("--logs", type=Path, help="Keep the processes' logs here.")
    args = parser.parse_args()
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kairan-startup-")))
        logs = args.logs or work
        logs.mkdir(parents=True, exist_ok=True)
        for figure in cpu_figures(args.repeat, work):
            show(figure)
            figures.append(figure)
            write_figures(args.json, figures)
        for database in args.databases.split(","):
            for figure in ready_figures(database, args.postgres, args.ready_repeat, logs):
                show(figure)
                figures.append(figure)
                write_figures(args.json, figures)
    help_figure = figures[0]
    print(f"kairan --help: {help_figure.ratio:.2f}× the baseline's CPU", flush=True)


if __name__ == "__main__":
    main()
