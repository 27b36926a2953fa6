"""Profile: where the CPU goes per webhook event, per worker batch and in the snapshot.

In one process (the simulator is a subprocess, as in the other benches), against a scratch
database, each part runs its baseline and Kairan on the same rows, unprofiled for the CPU figures
(`time.process_time`, which a loaded machine does not inflate the way it does wall time) and
then once more under cProfile for where that CPU went:

- webhook: signed 「確認しました」 postbacks through the Flask test client, to Kairan's app and
  to bench/durable_baseline_app.py (SDK parse, event id claimed and committed);
- worker: `Worker.run_once` in one thread, batch after batch of a released circular, against the
  bare urllib3 multicast loop of bench/fanout.py (same body shape, same simulator);
- snapshot: `release()` + commit against an INSERT … SELECT of the same rows, with each statement's
  time and, on SQLite, the query plan of the slowest (EXPLAIN QUERY PLAN).

The web server (gunicorn) and the worker's sender threads are left out: what is left is the work
each event or batch asks of Kairan's own code, the SDK and the database driver.

    python bench/profiling.py --parts webhook,worker,snapshot --database sqlite --residents 20000 \
        --events 300 --out /tmp/kairan-profile

writes <part>-<database>.prof (read with `python -m pstats`) and prints the top functions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import math
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fanout
from bench import webhook as webhook_bench
from bench._common import (
    DEFAULT_POSTGRES,
    Processes,
    control,
    engine_for,
    environment,
    scratch_database,
    start_simulator,
)


@contextlib.contextmanager
def profiled(path: Path | None) -> Iterator[cProfile.Profile]:
    # CPU time, not wall time: waits on fsync, LINE or a loaded machine are not what is sought.
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        yield profile
    finally:
        profile.disable()
        if path is not None:
            profile.dump_stats(path)


def top(profile: cProfile.Profile, units: int, lines: int, title: str) -> None:
    """The functions with the most own time, then the most time below them, with calls per unit."""
    stats = pstats.Stats(profile)
    total_calls = stats.total_calls  # type: ignore[attr-defined]
    print(f"\n== {title}: {total_calls / units:.0f} function calls per unit", flush=True)
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(key).print_stats(lines)
        body = out.getvalue()
        print(body[body.find("   ncalls") :], flush=True)


def cpu_per(units: int, run: Callable[[], None]) -> float:
    """Milliseconds of this process's CPU per unit while `run` runs."""
    start = time.process_time()
    run()
    return (time.process_time() - start) * 1000 / units


# --- webhook ------------------------------------------------------------------------------------


def profile_webhook(url: str, base: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    from bench.durable_baseline_app import create_app as durable_app
    from bench.durable_baseline_app import metadata as durable_metadata
    from linebot_app import create_app

    warm, n = webhook_bench.WARM_UP, args.events
    circular_id = webhook_bench.populate(url, warm + 2 * n)
    engine = engine_for(url)
    durable_metadata.create_all(engine)
    engine.dispose()
    # The app reads its settings from the environment, as under gunicorn.
    os.environ.update(
        environment(DATABASE_URL=url, LINE_API_BASE_URL=base, KAIRAN_LOG_LEVEL="WARNING")
    )
    bodies = webhook_bench.signed_postbacks(circular_id, range(warm + 2 * n))
    warm_up, measured, profiled_run = bodies[:warm], bodies[warm : warm + n], bodies[warm + n :]
    figures: dict[str, float] = {}
    for name, app in (("durable", durable_app()), ("kairan", create_app())):
        client = app.test_client()

        def post(events: list[tuple[bytes, str]], client: Any = client, name: str = name) -> None:
            for body, signature in events:
                headers = {"Content-Type": "application/json", "X-Line-Signature": signature}
                response = client.post("/callback", data=body, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: answered {response.status_code}")

        post(warm_up)
        figures[name] = cpu_per(n, lambda: post(measured))
        with profiled(out / f"webhook-{name}.prof") as profile:
            post(profiled_run)
        top(profile, n, args.top, f"webhook, {name}, per event")
    figures["ratio"] = figures["kairan"] / figures["durable"]
    return figures


# --- worker and snapshot ------------------------------------------------------------------------


@contextlib.contextmanager
def statement_times(engine: Engine) -> Iterator[list[tuple[float, str, Any]]]:
    """Each statement run on `engine` meanwhile: (seconds, SQL, parameters)."""
    times: list[tuple[float, str, Any]] = []
    started: dict[int, float] = {}

    def before(_conn: Any, cursor: Any, *_args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(_conn: Any, cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        times.append((time.perf_counter() - started.pop(id(cursor)), statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield times
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def release(url: str, association_id: int, author_id: int, title: str) -> tuple[int, float]:
    circular_id, seconds, _ = fanout.release_circular(url, association_id, author_id, title)
    return circular_id, seconds


def profile_fanout(
    url: str, base: str, database: str, args: argparse.Namespace, out: Path, parts: set[str]
) -> dict[str, float]:
    from broadcasts.core.clock import SystemClock
    from broadcasts.delivery import line as line_api
    from broadcasts.delivery.worker import Worker
    from models.session import tune

    figures: dict[str, float] = {}
    residents = args.residents
    if "worker" in parts:
        user_ids: list[str] = control(base, "POST", "/users/bulk", {"count": residents})["userIds"]
        warm_ids: list[str] = control(base, "POST", "/users/bulk", {"count": fanout.WARM_UP})[
            "userIds"
        ]
    else:  # the snapshot alone never calls LINE
        user_ids = [f"U{n:032x}" for n in range(residents)]
        warm_ids = [f"U{n:032x}" for n in range(residents, residents + fanout.WARM_UP)]
    association_id, author_id = fanout.populate(url, user_ids)
    warm_association = fanout.neighbour_association(url, association_id, "F1W", warm_ids)
    # A first release pays for importing line-bot-sdk (the card is built to check it), which a
    # running process has done long before.
    release(url, warm_association, author_id, "準備")

    if "snapshot" in parts:
        cpu = time.process_time()
        baseline = fanout.insert_select_baseline(url)
        baseline_cpu = time.process_time() - cpu
        # The engine the release uses is its own (bench/fanout.py's): statements are timed on
        # every engine while it runs.
        with (
            statement_times(Engine) as times,  # type: ignore[arg-type]
            profiled(out / f"snapshot-{database}.prof") as profile,
        ):
            cpu = time.process_time()
            _, seconds = release(url, association_id, author_id, "スナップショット")
            snapshot_cpu = time.process_time() - cpu
        figures.update(snapshot_s=seconds, insert_select_s=baseline)
        figures["snapshot_ratio"] = seconds / baseline
        # SQLite runs in this process: its CPU time is the statement's work, whatever the load.
        # (PostgreSQL's is in the server, not counted here.)
        figures.update(snapshot_cpu_s=snapshot_cpu, insert_select_cpu_s=baseline_cpu)
        figures["snapshot_cpu_ratio"] = snapshot_cpu / baseline_cpu
        top(profile, 1, args.top, "snapshot (release() + commit)")
        print("\n== snapshot: slowest statements")
        slowest = sorted(times, key=lambda t: t[0], reverse=True)[:5]
        for seconds_taken, statement, _ in slowest:
            print(f"{seconds_taken:8.3f} s  {' '.join(statement.split())[:300]}")
        if database == "sqlite" and slowest:
            engine = engine_for(url)
            with engine.connect() as connection:
                _, statement, parameters = slowest[0]
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                print("\n== EXPLAIN QUERY PLAN of the slowest")
                for row in plan:
                    print("   ", row)
            engine.dispose()
    if "worker" not in parts:
        return figures

    token = environment()["LINE_CHANNEL_ACCESS_TOKEN"]
    engine = tune(create_engine(url))
    worker = Worker(
        sessionmaker(engine),
        line_api.connect(base, token),
        SystemClock(),
        "bench-profile",
        public_url=environment()["KAIRAN_PUBLIC_URL"],
    )
    batches = math.ceil(residents / fanout.BATCH)
    # Warm: statements compiled, connections opened, as in a running worker.
    worker.drain()
    circular_id, _ = release(url, association_id, author_id, "計測")
    figures["worker_ms"] = cpu_per(batches, lambda: _drain(worker, batches))
    _, _, _, body = fanout.multicasts_of(base, fanout.retry_keys(url, circular_id))
    _, bare_cpu = fanout.bare_multicasts(base, body, batches, token)
    figures["bare_ms"] = bare_cpu * 1000
    figures["worker_ratio"] = figures["worker_ms"] / figures["bare_ms"]
    release(url, association_id, author_id, "プロファイル")
    with profiled(out / f"worker-{database}.prof") as profile:
        _drain(worker, batches)
    top(profile, batches, args.top, "worker, per batch")
    engine.dispose()
    return figures


def _drain(worker: Any, batches: int) -> None:
    sent = worker.drain()
    if sent < batches:
        raise RuntimeError(f"worker sent {sent} batches, expected {batches}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="webhook,worker,snapshot")
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--residents", type=int, default=20_000, help="Worker and snapshot.")
    parser.add_argument("--events", type=int, default=300, help="Webhook events per run.")
    parser.add_argument("--top", type=int, default=25, help="Functions shown per profile.")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--out", type=Path, help="Where the .prof files go (default: a temp dir).")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    figures: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        out = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        out.mkdir(parents=True, exist_ok=True)
        processes = stack.enter_context(Processes(out))
        env = environment()
        if "webhook" in parts:
            with scratch_database(args.database, "profile_webhook", args.postgres) as url:
                base, _ = start_simulator(processes, "simulator-web", rate_limits=False, env=env)
                figures.update(
                    {f"webhook_{k}": v for k, v in profile_webhook(url, base, args, out).items()}
                )
        if parts & {"worker", "snapshot"}:
            with scratch_database(args.database, "profile_fanout", args.postgres) as url:
                base, _ = start_simulator(processes, "simulator-fanout", rate_limits=False, env=env)
                figures.update(profile_fanout(url, base, args.database, args, out, parts))
    load = os.getloadavg()[0]
    print(f"\n== figures ({args.database}, load {load:.1f} on {os.cpu_count()} cores)")
    for name, value in figures.items():
        print(f"{name:>20} {value:10.3f}")


if __name__ == "__main__":
    main()
