"""Benchmark: one circular to N residents — snapshot (release) and delivery through the simulator.

For each database and each N:

1. `kairan simulator` (a subprocess, unlimited quota) gets N users who already follow
   (`POST /_sim/users/bulk`); the database gets N residents with those ids (executemany inserts).
2. Baseline: `INSERT INTO scratch SELECT …` of the N residents into a table without indexes,
   committed, on the same database — the raw cost of writing N rows there.
3. Circular 1 (no rate limits) and then circular 2 (LINE's default limits switched on in the same
   simulator: multicast 200 requests/s): `release()` and its commit are timed (snapshot); ONE
   `kairan worker` subprocess, started and idle beforehand, sends it; the driver polls the
   database until the circular is `sent`. The worker's peak RSS is VmHWM from
   /proc/<pid>/status, read just before SIGTERM.
4. Checks: the multicast calls accepted for the circular (simulator's request log) number
   ceil(N/500); after circular k every resident holds exactly k messages (inbox census).
5. Baseline for the unlimited delivery: the same number of multicasts, with the same body shape
   (500 ids and the same card), sent one after another by a bare urllib3 loop to the same
   simulator, to ids that are not users (LINE and the simulator answer 200 and deliver nothing).

    python bench/fanout.py --databases sqlite,postgresql --sizes 10000,100000 [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BIN,
    DEFAULT_POSTGRES,
    Figure,
    Processes,
    analyze,
    control,
    cpu_seconds,
    engine_for,
    environment,
    line_round_trip,
    proc_status_kib,
    scratch_database,
    show,
    start_simulator,
    wait_for_log,
    write_figures,
)
from broadcasts.circulars.release import release
from broadcasts.core.clock import SystemClock
from models import (
    Association,
    Circular,
    CircularStatus,
    CircularTarget,
    District,
    Resident,
    StaffMember,
)

BATCH = 500
MULTICAST_PER_SECOND = 200  # LINE's (and the simulator's default) multicast rate limit
INSERT_CHUNK = 10_000
WARM_UP = 8 * BATCH  # residents of the warm-up circular: a batch for each of the 8 senders
REGISTERED = datetime(2026, 11, 1, tzinfo=UTC)


def populate(url: str, user_ids: list[str]) -> tuple[int, int]:
    """District, association, author and the residents; returns (association, author) ids."""
    engine = engine_for(url)
    with Session(engine) as session:
        district = District(code="F1", name="配信校区", kana="はいしんこうく")
        association = Association(district=district, code="F1A", name="配信町内会", kana="はいしん")
        author = StaffMember(line_user_id="U" + "f" * 32, display_name="推進員")
        session.add_all([district, association, author])
        session.flush()
        for start in range(0, len(user_ids), INSERT_CHUNK):
            session.execute(
                insert(Resident),
                [
                    {
                        "line_user_id": u,
                        "association_id": association.id,
                        "registered_at": REGISTERED,
                    }
                    for u in user_ids[start : start + INSERT_CHUNK]
                ],
            )
        session.commit()
        ids = association.id, author.id
    analyze(engine)
    engine.dispose()
    return ids


def neighbour_association(url: str, association_id: int, code: str, user_ids: list[str]) -> int:
    """Another association of the same district, whose residents have these LINE ids: circulars
    to `association_id` are not theirs. Returns its id."""
    engine = engine_for(url)
    with Session(engine) as session:
        targeted = session.get_one(Association, association_id)
        other = Association(
            district_id=targeted.district_id, code=code, name=f"{code}町内会", kana="となり"
        )
        session.add(other)
        session.flush()
        session.execute(
            insert(Resident),
            [
                {"line_user_id": u, "association_id": other.id, "registered_at": REGISTERED}
                for u in user_ids
            ],
        )
        session.commit()
        other_id = other.id
    analyze(engine)
    engine.dispose()
    return other_id


def insert_select_baseline(url: str) -> float:
    """Seconds for INSERT … SELECT of every resident into an index-less table, with commit."""
    engine = engine_for(url)
    with engine.connect() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_scratch"))
        connection.execute(
            text(
                "CREATE TABLE bench_scratch (circular_id integer, resident_id integer,"
                " slot varchar(20), status varchar(20), created_at timestamp)"
            )
        )
        connection.commit()
        start = time.perf_counter()
        connection.execute(
            text(
                "INSERT INTO bench_scratch SELECT 1, id, 'card', 'pending', CURRENT_TIMESTAMP"
                " FROM residents"
            )
        )
        connection.commit()
        elapsed = time.perf_counter() - start
        connection.execute(text("DROP TABLE bench_scratch"))
        connection.commit()
    engine.dispose()
    return elapsed


def release_circular(
    url: str, association_id: int, author_id: int, title: str
) -> tuple[int, float, int]:
    """Compose and release one circular; returns (id, seconds for release() + commit, batches)."""
    engine = engine_for(url)
    with Session(engine) as session:
        circular = Circular(
            author_id=author_id,
            title=title,
            body="12月7日（日）9時に公園へ集まってください。",
            targets=[CircularTarget(association_id=association_id)],
        )
        session.add(circular)
        session.commit()
        # Quota: None (unlimited), as `--quota -1` tells the simulator; the quota look-up is a
        # network call made before release, outside the transaction, and is not measured.
        start = time.perf_counter()
        result = release(session, SystemClock(), circular, None)
        session.commit()
        elapsed = time.perf_counter() - start
        if not result.released:
            raise RuntimeError(f"not released: {result.reason}")
        circular_id = circular.id
    engine.dispose()
    return circular_id, elapsed, result.batches


def wait_until_sent(url: str, circular_id: int, deadline_seconds: float) -> tuple[float, float]:
    """Poll the database every 50 ms; returns when `sent` was first seen (perf_counter) and
    how long the worker took from its first claim of the circular's batches to marking it sent,
    from the two times it stored (so the 50 ms poll is not counted)."""
    from models import DeliveryBatch

    engine = engine_for(url)
    deadline = time.monotonic() + deadline_seconds
    with engine.connect() as connection:
        while True:
            status = connection.execute(
                select(Circular.status).where(Circular.id == circular_id)
            ).scalar_one()
            connection.rollback()
            if status is CircularStatus.sent:
                seen = time.perf_counter()
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"circular {circular_id} still {status} after {deadline_seconds} s"
                )
            time.sleep(0.05)
        first = connection.execute(
            select(func.min(DeliveryBatch.first_attempt_at)).where(
                DeliveryBatch.circular_id == circular_id
            )
        ).scalar_one()
        completed = connection.execute(
            select(Circular.completed_at).where(Circular.id == circular_id)
        ).scalar_one()
    engine.dispose()
    return seen, (completed - first).total_seconds()


def multicasts_of(base: str, retry_keys: set[str]) -> tuple[int, int, list[int], dict[str, Any]]:
    """(accepted, refused with 429, simulator timestamps of accepted, one accepted body)."""
    log = control(base, "GET", "/requests?path=/v2/bot/message/multicast")["requests"]
    mine = [e for e in log if e["retryKey"] in retry_keys]
    accepted = [e for e in mine if e["status"] == 200]
    refused = sum(1 for e in mine if e["status"] == 429)
    return len(accepted), refused, [e["timestamp"] for e in accepted], accepted[0]["body"]


def retry_keys(url: str, circular_id: int) -> set[str]:
    from models import DeliveryBatch

    engine = engine_for(url)
    with Session(engine) as session:
        keys = {
            str(k)
            for k in session.scalars(
                select(DeliveryBatch.retry_key).where(DeliveryBatch.circular_id == circular_id)
            )
        }
    engine.dispose()
    return keys


def bare_multicasts(base: str, body: dict[str, Any], calls: int, token: str) -> tuple[float, float]:
    """Seconds for `calls` sequential multicasts of this body's shape to ids that are no users,
    and the CPU seconds this loop spent per call (urllib3 alone: the least a client can do)."""
    pool = urllib3.HTTPConnectionPool("127.0.0.1", int(base.rsplit(":", 1)[1]), maxsize=1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    payloads = []
    for _ in range(calls):
        ghost = {**body, "to": ["U" + secrets.token_hex(16) for _ in body["to"]]}
        payloads.append(json.dumps(ghost).encode())
    start, cpu_start = time.perf_counter(), time.process_time()
    for payload in payloads:
        response = pool.request(
            "POST", "/v2/bot/message/multicast", body=payload, headers=headers, retries=False
        )
        if response.status != 200:
            raise RuntimeError(f"baseline multicast answered {response.status}")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    pool.close()
    return elapsed, cpu / calls


def run_one(database: str, residents: int, args: argparse.Namespace, logs: Path) -> list[Figure]:
    figures: list[Figure] = []
    label = f"{residents // 1000}k"
    calls_expected = math.ceil(residents / BATCH)
    bound = calls_expected / MULTICAST_PER_SECOND
    env = environment()
    with Processes(logs) as processes, scratch_database(database, "fanout", args.postgres) as url:
        base, simulator = start_simulator(
            processes, f"simulator-{database}-{label}", rate_limits=False, env=env
        )
        if args.multicast_latency:
            line_round_trip(base, args.multicast_latency, "/v2/bot/message/multicast")
        started = time.perf_counter()
        user_ids: list[str] = control(base, "POST", "/users/bulk", {"count": residents})["userIds"]
        association_id, author_id = populate(url, user_ids)
        warm_ids = control(base, "POST", "/users/bulk", {"count": WARM_UP})["userIds"]
        warm_association_id = neighbour_association(url, association_id, "F1W", warm_ids)
        print(
            f"[fanout/{database}] {residents} residents and simulator users ready in"
            f" {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        baseline = insert_select_baseline(url)
        worker_env = {**env, "DATABASE_URL": url, "LINE_API_BASE_URL": base}
        if args.senders:
            worker_env["KAIRAN_WORKER_SENDERS"] = str(args.senders)
        for round_number, limited in enumerate((False, True), start=1):
            mode = "rate-limited (200 multicasts/s)" if limited else "no rate limits"
            if limited:
                control(base, "POST", "/rate-limits", {"enabled": True})
            log_path = logs / f"worker-{database}-{label}-{round_number}.log"
            worker = processes.start(log_path.stem, [str(BIN / "kairan"), "worker"], worker_env)
            wait_for_log(log_path, b" started", worker, 60)
            idle_kib = proc_status_kib(worker.pid, "VmHWM")
            # A worker runs for months: its first send also pays for compiling its statements
            # and first using its connections. A small circular to other residents pays that
            # first, so the figures are those of a running worker; its time is in the note.
            warm_id, _, _ = release_circular(
                url, warm_association_id, author_id, f"準備 {round_number}"
            )
            _, warm_up_s = wait_until_sent(url, warm_id, deadline_seconds=600)
            cpu_before = cpu_seconds([worker.pid, simulator.pid])
            worker_before = cpu_seconds([worker.pid])
            circular_id, snapshot_s, batches = release_circular(
                url, association_id, author_id, f"配信ベンチ {round_number}"
            )
            committed = time.perf_counter()
            sent_at, delivery_s = wait_until_sent(
                url, circular_id, deadline_seconds=max(600, bound * 20)
            )
            # The worker looks for work every second when idle (IDLE_WAIT): that wait is in
            # commit→sent, not in the delivery figure, which starts at the first claim.
            commit_to_sent = sent_at - committed
            peak_kib = proc_status_kib(worker.pid, "VmHWM")
            worker_cpu = cpu_seconds([worker.pid]) - worker_before
            simulator_cpu = cpu_seconds([worker.pid, simulator.pid]) - cpu_before - worker_cpu
            code = processes.stop(worker)
            if code != 0:
                raise RuntimeError(f"worker exited with {code}")
            accepted, refused, stamps, body = multicasts_of(base, retry_keys(url, circular_id))
            counts: dict[str, int] = control(base, "GET", "/inbox-counts")["counts"]
            wrong = sum(1 for u in user_ids if counts.get(u, 0) != round_number)
            span_s = (max(stamps) - min(stamps)) / 1000
            common = {"database": database, "bench": "fanout"}
            snapshot_target = {"postgresql": 1.0, "sqlite": 2.0}[database]
            figures.append(
                Figure(
                    **common,
                    name=f"snapshot {label}, circular {round_number} (release() + commit)",
                    value=snapshot_s,
                    unit="s",
                    baseline=baseline,
                    baseline_name=f"INSERT … SELECT of {residents} rows into an index-less table",
                    ratio=snapshot_s / baseline,
                    target=f"< {snapshot_target:g} s at 100k" if residents == 100_000 else None,
                    met=snapshot_s < snapshot_target if residents == 100_000 else None,
                    extra={"batches": batches, "residents": residents},
                )
            )
            delivery = Figure(
                **common,
                name=f"delivery {label}, {mode} (first claim → circular sent)",
                value=delivery_s,
                unit="s",
                extra={
                    "multicast_calls_accepted": accepted,
                    "multicast_calls_expected": calls_expected,
                    "multicast_429": refused,
                    "first_to_last_multicast_s": span_s,
                    "residents_without_exactly_one_copy": wrong,
                    "rate_limit_bound_s": bound,
                    "release_commit_to_sent_s": commit_to_sent,
                    "warm_up_circular_s": warm_up_s,
                },
                note=(
                    f"{accepted} multicast calls accepted (expected {calls_expected}), {refused}"
                    f" answered 429; first→last multicast {span_s:.2f} s; residents without"
                    f" exactly one copy of this circular: {wrong}; release commit→sent"
                    f" {commit_to_sent:.2f} s (includes the idle worker's ≤ 1 s poll); the"
                    f" fresh worker's warm-up circular ({WARM_UP // BATCH} batches) took"
                    f" {warm_up_s:.2f} s"
                ),
            )
            if limited:
                delivery.baseline = bound
                delivery.baseline_name = f"rate-limit bound {calls_expected} calls ÷ 200/s"
                delivery.ratio = delivery_s / bound
                if residents == 100_000:
                    delivery.target = "≤ 2× the rate-limit bound at 100k"
                    delivery.met = delivery_s <= 2 * bound
            else:
                token = env["LINE_CHANNEL_ACCESS_TOKEN"]
                bare, bare_cpu = bare_multicasts(base, body, calls_expected, token)
                delivery.baseline = bare
                delivery.baseline_name = f"{calls_expected} bare multicasts (urllib3 loop)"
                delivery.ratio = delivery_s / bare
            figures.append(delivery)
            if accepted != calls_expected or wrong:
                raise RuntimeError(f"fan-out wrong: {delivery.note}")
            # The worker's CPU for the whole send (claims, SDK calls, records, idle polls of the
            # other senders), per batch; the simulator's is on the same cores.
            figures.append(
                Figure(
                    **common,
                    name=f"worker CPU per batch {label}, {mode}",
                    value=worker_cpu / calls_expected * 1000,
                    unit="ms",
                    baseline=bare_cpu * 1000,
                    baseline_name="the bare urllib3 loop's CPU per multicast (same body)",
                    ratio=worker_cpu / calls_expected / bare_cpu,
                    note=(
                        f"simulator {simulator_cpu / calls_expected * 1000:.2f} ms CPU per"
                        " multicast (the stand-in for LINE, on the same cores)"
                    ),
                    extra={"simulator_cpu_per_multicast_ms": simulator_cpu / calls_expected * 1000},
                )
            )
            figures.append(
                Figure(
                    **common,
                    name=f"worker peak RSS {label}, {mode} (VmHWM before SIGTERM)",
                    value=peak_kib / 1024,
                    unit="MiB",
                    baseline=idle_kib / 1024,
                    baseline_name="the same worker's VmHWM when idle, before the release",
                    ratio=peak_kib / idle_kib,
                    target="< 200 MB at 300k" if residents == 300_000 else None,
                    met=peak_kib * 1024 < 200e6 if residents == 300_000 else None,
                )
            )
            for figure in figures[-4:]:
                show(figure)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="100000", help="Comma-separated resident counts.")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--json", type=Path, help="Write the figures here (for bench/run.py).")
    parser.add_argument("--logs", type=Path, help="Process logs (default: a temporary dir).")
    parser.add_argument(
        "--multicast-latency",
        type=float,
        default=0.0,
        help="Seconds the simulator takes to answer each multicast (LINE's round trip).",
    )
    parser.add_argument(
        "--senders", type=int, help="KAIRAN_WORKER_SENDERS for the worker (default: its own)."
    )
    args = parser.parse_args()
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        logs = args.logs or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        logs.mkdir(parents=True, exist_ok=True)
        for size in (int(s) for s in args.sizes.split(",")):
            for database in args.databases.split(","):
                figures += run_one(database, size, args, logs)
                write_figures(args.json, figures)  # partial results survive a later failure
    write_figures(args.json, figures)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        raise SystemExit(str(error)) from None
