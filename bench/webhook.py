"""Benchmark: signed 「確認しました」 postbacks to `POST /callback`, against a baseline app.

For each database: residents who each hold a delivery of one sent circular; gunicorn started as
the Procfile's web line (`--config python:linebot_app.gunicorn_conf`, WEB_CONCURRENCY workers)
serving in turn two baselines and Kairan:

- bench/baseline_app.py checks the signature and answers 200 (the issue's baseline, the target's);
- bench/durable_baseline_app.py does the least a durable webhook must: the SDK's parse, the event
  id claimed in the same database (its own table) and committed — the ceiling of any design
  that commits each event before answering.

Each gets the same events, after a short warm-up:

- a fixed rate: `--rate` events/s for `--seconds` s, each a webhook with one postback event
  `ack:<circular>` from a different resident; latency is counted from the moment the event was
  due (so a late start counts against the server, not hidden by the client);
- full speed: `--events` events from `--threads` client threads, one keep-alive connection each
  (reopened when gunicorn closes it).

`--loaded` sends Kairan the fixed rate once more, with new events, while a Python loop pinned to
the first core keeps it busy: what a shared host leaves the server.

`--reply-latency S` makes the simulator take S seconds over each reply call, as LINE does from
across the internet (the simulator on this machine answers at once).

Bodies are built and signed before the clock starts. Kairan's reply to each postback goes to
`kairan simulator` (no rate limits); its reply tokens are made up, so the simulator refuses them
(400) after the round trip — the call still happens. Afterwards the acknowledgements are counted:
every event Kairan answered 200 must have left exactly one (and the durable baseline one claim).
The CPU time of the gunicorn workers and of the simulator during the full-speed run is given per
event, from /proc: where the time goes on a machine whose cores they all share.

    python bench/webhook.py --databases sqlite,postgresql [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import itertools
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Table, func, insert, literal, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BIN,
    DEFAULT_POSTGRES,
    REPO,
    SECRETS,
    Figure,
    Processes,
    analyze,
    cpu_seconds,
    engine_for,
    environment,
    free_port,
    line_round_trip,
    percentile,
    scratch_database,
    show,
    start_simulator,
    wait_for_http,
    write_figures,
)
from bench.durable_baseline_app import claimed
from bench.durable_baseline_app import metadata as durable_metadata
from models import (
    Acknowledgement,
    Association,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    District,
    Resident,
    StaffMember,
)

RELEASED = datetime(2026, 12, 1, tzinfo=UTC)
WARM_UP = 40
DESTINATION = "U" + "0" * 32
# A process that keeps the first core busy (the loaded variant).
BURNER = [
    sys.executable,
    "-c",
    "import os\nos.sched_setaffinity(0, {0})\nwhile True:\n    pass",
]


def populate(url: str, residents: int) -> int:
    """Residents U<hex id> and one sent circular delivered to all of them; returns its id."""
    engine = engine_for(url)
    with Session(engine) as session:
        district = District(code="W1", name="確認校区", kana="かくにんこうく")
        association = Association(district=district, code="W1A", name="確認町内会", kana="かくにん")
        author = StaffMember(line_user_id="U" + "e" * 32, display_name="推進員")
        session.add_all([district, association, author])
        session.flush()
        session.execute(
            insert(Resident),
            [
                {
                    "line_user_id": user_id(r),
                    "association_id": association.id,
                    "registered_at": RELEASED,
                }
                for r in range(residents)
            ],
        )
        circular = Circular(
            author_id=author.id,
            title="防災訓練のお知らせ",
            body="本文",
            status=CircularStatus.sent,
            released_at=RELEASED,
            completed_at=RELEASED,
            targets=[CircularTarget(association_id=association.id)],
        )
        session.add(circular)
        session.flush()
        table = Delivery.__table__.c
        session.execute(
            insert(Delivery).from_select(
                ["circular_id", "resident_id", "status", "created_at", "sent_at"],
                select(
                    literal(circular.id),
                    Resident.id,
                    literal(DeliveryStatus.sent, table.status.type),
                    literal(RELEASED, table.created_at.type),
                    literal(RELEASED, table.created_at.type),
                ),
            )
        )
        session.commit()
        circular_id = circular.id
    analyze(engine)
    engine.dispose()
    return circular_id


def user_id(n: int) -> str:
    return f"U{n + 1:032x}"


def signed_postbacks(circular_id: int, residents: range) -> list[tuple[bytes, str]]:
    """One webhook per resident, as LINE sends them, with its X-Line-Signature."""
    secret = SECRETS["LINE_CHANNEL_SECRET"].encode()
    now = int(time.time() * 1000)
    bodies = []
    for n in residents:
        body = json.dumps(
            {
                "destination": DESTINATION,
                "events": [
                    {
                        "type": "postback",
                        "mode": "active",
                        "timestamp": now,
                        "source": {"type": "user", "userId": user_id(n)},
                        "webhookEventId": f"01BENCH{n:019d}",
                        "deliveryContext": {"isRedelivery": False},
                        "replyToken": secrets.token_hex(16),
                        "postback": {"data": f"ack:{circular_id}"},
                    }
                ],
            }
        ).encode()
        signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        bodies.append((body, signature))
    return bodies


class Client:
    """One thread's HTTP/1.1 connection to gunicorn; reconnects when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, body: bytes, signature: str) -> int:
        headers = {"Content-Type": "application/json", "X-Line-Signature": signature}
        self.connection.request("POST", "/callback", body=body, headers=headers)
        response = self.connection.getresponse()
        response.read()
        if response.will_close:
            self.connection.close()  # the next request opens a new connection
        return response.status

    def close(self) -> None:
        self.connection.close()


def fire(
    port: int, events: list[tuple[bytes, str]], threads: int, rate: float | None
) -> tuple[float, list[float], dict[int, int]]:
    """Send every event; `rate` None: as fast as the threads go. Returns (wall seconds,
    latencies in ms, answers by status)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = itertools.count()
    start = time.perf_counter() + 0.05

    def loop() -> None:
        client = Client(port)
        mine: list[float] = []
        answers: dict[int, int] = {}
        try:
            while (i := next(counter)) < len(events):
                due = start + i / rate if rate else time.perf_counter()
                if rate:
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                else:
                    due = time.perf_counter()
                try:
                    status = client.post(*events[i])
                except (OSError, http.client.HTTPException):
                    client.close()
                    status = 0
                mine.append((time.perf_counter() - due) * 1000)
                answers[status] = answers.get(status, 0) + 1
        finally:
            client.close()
            with lock:
                latencies.extend(mine)
                for status, count in answers.items():
                    statuses[status] = statuses.get(status, 0) + count

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    return time.perf_counter() - start, latencies, statuses


def gunicorn(
    processes: Processes, name: str, app: list[str], env: dict[str, str]
) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    argv = [str(BIN / "gunicorn"), "--config", "python:linebot_app.gunicorn_conf", *app]
    process = processes.start(name, argv, {**env, "PORT": str(port), "HOST": "127.0.0.1"})
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
    return port, process


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def count_rows(url: str, table: Table, where: ColumnElement[bool] | None = None) -> int:
    engine = engine_for(url)
    with Session(engine) as session:
        query = select(func.count()).select_from(table)
        count = session.scalar(query if where is None else query.where(where))
    engine.dispose()
    return int(count or 0)


@dataclass
class Run:
    wall: float
    latencies: list[float]
    statuses: dict[int, int]
    sent: int
    # CPU seconds used meanwhile by the app's gunicorn workers and by the simulator.
    server_cpu: float = 0.0
    simulator_cpu: float = 0.0


APPS = {
    "baseline": ["--pythonpath", str(REPO / "bench"), "baseline_app:app"],
    "durable": ["--pythonpath", str(REPO / "bench"), "durable_baseline_app:create_app()"],
    "kairan": ["linebot_app:create_app()"],
}


def run_one(database: str, args: argparse.Namespace, logs: Path) -> list[Figure]:
    rated = int(args.rate * args.seconds)
    loaded_events = rated if args.loaded else 0
    residents = WARM_UP + rated + args.events + loaded_events
    env = environment(WEB_CONCURRENCY=str(args.web_concurrency))
    results: dict[tuple[str, str], Run] = {}
    with Processes(logs) as processes, scratch_database(database, "webhook", args.postgres) as url:
        circular_id = populate(url, residents)
        engine = engine_for(url)
        durable_metadata.create_all(engine)
        engine.dispose()
        base, simulator = start_simulator(
            processes, f"simulator-{database}", rate_limits=False, env=env
        )
        if args.reply_latency:
            line_round_trip(base, args.reply_latency, "/v2/bot/message/reply")
        app_env = {**env, "DATABASE_URL": url, "LINE_API_BASE_URL": base}
        warm = signed_postbacks(circular_id, range(WARM_UP))
        rate_events = signed_postbacks(circular_id, range(WARM_UP, WARM_UP + rated))
        fast_events = signed_postbacks(
            circular_id, range(WARM_UP + rated, residents - loaded_events)
        )
        burdened = signed_postbacks(circular_id, range(residents - loaded_events, residents))
        for app_name, app in APPS.items():
            port, process = gunicorn(processes, f"gunicorn-{app_name}-{database}", app, app_env)
            fire(port, warm, args.threads, None)
            rate = fire(port, rate_events, args.rate_threads, args.rate)
            results[(app_name, "rate")] = Run(*rate, len(rate_events))
            workers = children(process.pid)
            server, sim = cpu_seconds(workers), cpu_seconds([simulator.pid])
            full = Run(*fire(port, fast_events, args.threads, None), len(fast_events))
            full.server_cpu = cpu_seconds(workers) - server
            full.simulator_cpu = cpu_seconds([simulator.pid]) - sim
            results[(app_name, "full")] = full
            if app_name == "kairan" and args.loaded:
                # One core busy beside the server: what a shared or noisy host leaves it.
                burner = processes.start(f"burner-{database}", BURNER, env)
                rate = fire(port, burdened, args.rate_threads, args.rate)
                processes.stop(burner)
                results[(app_name, "loaded")] = Run(*rate, len(burdened))
            processes.stop(process)
        acked = count_rows(
            url, Acknowledgement.__table__, Acknowledgement.circular_id == circular_id
        )
        claims = count_rows(url, claimed)

    for (app_name, mode), run in results.items():
        if run.statuses.get(200, 0) != run.sent:
            raise RuntimeError(f"{app_name} {mode}: answers {run.statuses} for {run.sent} events")
    expected = sum(results[("kairan", m)].sent for m in ("rate", "full")) + WARM_UP
    if acked != expected + loaded_events or claims != expected:
        raise RuntimeError(f"{acked} acknowledgements, {claims} claims for {expected} events")
    return figures(database, args, results)


def figures(
    database: str, args: argparse.Namespace, results: dict[tuple[str, str], Run]
) -> list[Figure]:
    out: list[Figure] = []
    common = {"bench": "webhook", "database": database}
    workers = f"same gunicorn, WEB_CONCURRENCY={args.web_concurrency}"
    baseline = f"baseline app (signature check only), {workers}"
    durable = f"durable baseline (SDK parse, event id claimed and committed), {workers}"
    for mode, label in (
        ("rate", f"{args.rate:g} events/s for {args.seconds:g} s"),
        ("full", f"full speed, {args.events} events, {args.threads} client threads"),
    ):
        k, b, d = (results[(app, mode)] for app in ("kairan", "baseline", "durable"))
        throughput, b_throughput, d_throughput = (r.sent / r.wall for r in (k, b, d))
        p50, b_p50 = statistics.median(k.latencies), statistics.median(b.latencies)
        p99, b_p99, d_p99 = (percentile(r.latencies, 0.99) for r in (k, b, d))
        cpu = ""
        if mode == "full":
            cpu = "; ".join(
                f"{name}: workers {1000 * r.server_cpu / r.sent:.2f} ms CPU per event"
                f", simulator {1000 * r.simulator_cpu / r.sent:.2f} ms"
                for name, r in (("Kairan", k), ("baseline", b), ("durable baseline", d))
            )
        out.append(
            Figure(
                **common,
                name=f"events/s, {label}",
                value=throughput,
                unit="events/s",
                baseline=b_throughput,
                baseline_name=baseline,
                ratio=throughput / b_throughput,
                target="≥ 60% of the baseline" if mode == "full" else None,
                met=throughput >= 0.6 * b_throughput if mode == "full" else None,
                note=cpu,
            )
        )
        out.append(
            Figure(
                **common,
                name=f"events/s, {label}, against the durable baseline",
                value=throughput,
                unit="events/s",
                baseline=d_throughput,
                baseline_name=durable,
                ratio=throughput / d_throughput,
                note=f"the durable baseline is {d_throughput / b_throughput:.2f} of the"
                " signature-only baseline",
            )
        )
        out.append(
            Figure(
                **common,
                name=f"p50 latency, {label}",
                value=p50,
                unit="ms",
                baseline=b_p50,
                baseline_name=baseline,
                ratio=p50 / b_p50,
            )
        )
        out.append(
            Figure(
                **common,
                name=f"p99 latency, {label}",
                value=p99,
                unit="ms",
                baseline=b_p99,
                baseline_name=baseline,
                ratio=p99 / b_p99,
                target="< 50 ms at 200 events/s" if mode == "rate" else None,
                met=p99 < 50 if mode == "rate" else None,
                note=f"max {max(k.latencies):.1f} ms (baseline {max(b.latencies):.1f} ms)",
            )
        )
        out.append(
            Figure(
                **common,
                name=f"p99 latency, {label}, against the durable baseline",
                value=p99,
                unit="ms",
                baseline=d_p99,
                baseline_name=durable,
                ratio=p99 / d_p99,
                note=f"durable baseline max {max(d.latencies):.1f} ms",
            )
        )
    k, d = results[("kairan", "full")], results[("durable", "full")]
    out.append(
        Figure(
            **common,
            name="workers' CPU per event, full speed",
            value=1000 * k.server_cpu / k.sent,
            unit="ms",
            baseline=1000 * d.server_cpu / d.sent,
            baseline_name=durable,
            ratio=(k.server_cpu / k.sent) / (d.server_cpu / d.sent),
            target="≤ 1.5× the durable baseline",
            met=(k.server_cpu / k.sent) <= 1.5 * (d.server_cpu / d.sent),
        )
    )
    if ("kairan", "loaded") in results:
        loaded = results[("kairan", "loaded")]
        p99 = percentile(loaded.latencies, 0.99)
        out.append(
            Figure(
                **common,
                name=f"p99 latency, loaded: {args.rate:g} events/s beside a CPU burner on one core",
                value=p99,
                unit="ms",
                baseline=percentile(results[("kairan", "rate")].latencies, 0.99),
                baseline_name="Kairan's p99 at the same rate without the burner (same run)",
                ratio=p99 / percentile(results[("kairan", "rate")].latencies, 0.99),
                target="< 200 ms",
                met=p99 < 200,
                note=f"{loaded.sent / loaded.wall:.1f} events/s answered; max"
                f" {max(loaded.latencies):.1f} ms",
            )
        )
    for figure in out:
        show(figure)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rate", type=float, default=200.0, help="Events/s of the fixed rate.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of the fixed rate.")
    parser.add_argument("--rate-threads", type=int, default=8, help="Client threads (rate).")
    parser.add_argument("--events", type=int, default=3000, help="Events at full speed.")
    parser.add_argument("--threads", type=int, default=4, help="Client threads (full speed).")
    parser.add_argument("--web-concurrency", type=int, default=2)
    parser.add_argument(
        "--loaded",
        action="store_true",
        help="Also Kairan at the fixed rate with a CPU burner pinned to the first core.",
    )
    parser.add_argument(
        "--reply-latency",
        type=float,
        default=0.0,
        help="Seconds the simulator takes to answer each reply call (LINE's round trip).",
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--json", type=Path, help="Write the figures here (for bench/run.py).")
    parser.add_argument("--logs", type=Path, help="Process logs (default: a temporary dir).")
    args = parser.parse_args()
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        logs = args.logs or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        logs.mkdir(parents=True, exist_ok=True)
        for database in args.databases.split(","):
            figures += run_one(database, args, logs)
            write_figures(args.json, figures)
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
