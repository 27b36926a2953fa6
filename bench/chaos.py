"""Long delivery chaos run (issues #9 and #24): two circulars released at once; workers SIGKILLed
at random while LINE fails in every way the simulator knows and, on PostgreSQL, the workers'
database connections are killed under them; residents unfollow mid-send. Then the faults stop
and the tail is measured. Counted from the simulator's inboxes, every resident who still
follows holds exactly one copy of each circular, nobody else holds any, and Kairan's records
agree with what LINE delivered.

The fast variant is tests/e2e/test_delivery_chaos.py (5,000 residents, 20 kills). This one runs
at city scale for as long as asked:

1. `kairan simulator` (a subprocess, unlimited quota, no rate limits) gets `--residents` users
   who follow, plus `--outsiders` registered in the next association; the web app (gunicorn)
   takes the simulator's webhooks. Two circulars to the targeted association are released at
   once (from two threads on PostgreSQL; one after the other on SQLite, which has one writer).
2. The simulator's faults, drawn per multicast (docs/simulator.md): `error500`, `error429`,
   `refuse`, `drop`, `acceptThenDrop`, `acceptThenError500`, `slow` (past the client's 10 s
   timeout), a latency drawn from an exponential distribution, and `blockBeforeDelivery`
   (recipients who block between LINE's accepting and delivering; their unfollow webhooks go
   to the web app).
3. `--workers` `kairan worker` processes (two on PostgreSQL, one on SQLite); every
   0–`--max-pause` seconds one of them is SIGKILLed and replaced, `--rounds` times. On
   PostgreSQL a killer runs `pg_terminate_backend` on every worker connection every
   `--kill-connections` seconds. Meanwhile `--unfollowers` residents block the bot in the
   simulator, one every 0.2–1.5 s; LINE sends their unfollow webhook to the web app, as it would.
   (The killer spares the web app's connections: `bench/reliability.py` kills those; here a
   webhook that LINE gives up on would be an unfollow Kairan never heard of.)
4. The faults are cleared; the tail is the time from "faults cleared and a worker running" to
   "both circulars sent".
5. Census: the simulator's inboxes per circular (its aggregation unit) against Kairan's
   delivery records.

    python bench/chaos.py --database postgresql [--residents 30000] [--rounds 60]
    python bench/chaos.py --database sqlite --residents 20000 --rounds 40

Prints what happened; exits non-zero if a copy was lost, doubled or misdelivered, or a record
disagrees with LINE for a reason Kairan could have known (`disagree` in the output; bench/census.py
judges each record that differs from the inbox).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import census
from bench._common import (
    BIN,
    DEFAULT_POSTGRES,
    Processes,
    connection_killer,
    control,
    engine_for,
    environment,
    scratch_database,
    start_simulator,
    wait_for_log,
)
from bench.fanout import neighbour_association, populate, release_circular
from bench.webhook import gunicorn
from broadcasts.delivery.messages import unit_name
from broadcasts.delivery.reports import progress
from models import (
    CARD,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    FollowStatus,
    Resident,
)

CIRCULARS = 2
MULTICAST = "/v2/bot/message/multicast"
# The web app's connections carry this name; the connection killer spares them.
WEB_APPLICATION_NAME = "kairan-chaos-web"


class Workers:
    """`kairan worker` processes, started and SIGKILLed as the run says."""

    def __init__(self, processes: Processes, env: dict[str, str], logs: Path) -> None:
        self.processes = processes
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.killed = 0

    def start(self) -> None:
        """A worker waits for its database at start-up (connections killed meanwhile included),
        so one that exits is a defect: `wait_for_log` raises."""
        self.started += 1
        name = f"worker-{self.started}"
        process = self.processes.start(name, [str(BIN / "kairan"), "worker"], self.env)
        wait_for_log(self.logs / f"{name}.log", b" started", process, 120)
        self.running.append(process)

    def kill_one(self, rng: random.Random) -> None:
        process = rng.choice(self.running)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.running.remove(process)
        self.processes.running.remove(process)
        self.killed += 1


def unfollow_some(
    base: str, user_ids: list[str], stop: threading.Event, rng: random.Random, done: list[str]
) -> None:
    """Residents who block the bot while their circulars are sent: LINE stops delivering to each
    at once and sends Kairan's web app the unfollow webhook (the call returns once it answered)."""
    for user_id in user_ids:
        if stop.wait(rng.uniform(0.2, 1.5)):
            return
        control(base, "POST", f"/users/{user_id}/block", {})
        done.append(user_id)


def release_both(
    url: str, association_id: int, author_id: int, concurrent: bool
) -> list[tuple[int, int]]:
    titles = [f"防災訓練のお知らせ {n + 1}" for n in range(CIRCULARS)]

    def one(title: str) -> tuple[int, int]:
        circular_id, _seconds, batches = release_circular(url, association_id, author_id, title)
        return circular_id, batches

    if not concurrent:
        return [one(title) for title in titles]
    with ThreadPoolExecutor(max_workers=CIRCULARS) as pool:
        return list(pool.map(one, titles))


def wait_until_all_sent(url: str, circular_ids: list[int], seconds: float) -> float:
    """Polls every 0.1 s; returns time.monotonic() when every circular was first seen sent."""
    engine = engine_for(url)
    deadline = time.monotonic() + seconds
    try:
        with engine.connect() as connection:
            while True:
                # Read whole before the rollback: a SQLite statement left open would keep its
                # snapshot, and the loop would never see the circulars sent.
                statuses = (
                    connection.execute(select(Circular.status).where(Circular.id.in_(circular_ids)))
                    .scalars()
                    .all()
                )
                connection.rollback()
                if all(status is CircularStatus.sent for status in statuses):
                    return time.monotonic()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"circulars {circular_ids} not all sent after {seconds} s")
                time.sleep(0.1)
    finally:
        engine.dispose()


def blocked_in_kairan(url: str, user_ids: set[str]) -> set[str]:
    engine = engine_for(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Resident.line_user_id).where(Resident.follow_status == FollowStatus.blocked)
        ).scalars()
        found = {u for u in rows if u in user_ids}
    engine.dispose()
    return found


def recorded_sent(url: str) -> set[tuple[str, int]]:
    """(LINE user id, circular id) of every card Kairan recorded sent."""
    engine = engine_for(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Resident.line_user_id, Delivery.circular_id)
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.slot == CARD, Delivery.status == DeliveryStatus.sent)
        ).all()
    engine.dispose()
    return {(user_id, circular_id) for user_id, circular_id in rows}


def clock(moment: datetime | float | None) -> str:
    """A time of day in UTC to the millisecond (datetimes from Kairan, epoch ms from LINE)."""
    if moment is None:
        return "-"
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment / 1000, UTC)
    return moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def judge_differences(
    url: str,
    log: list[dict[str, Any]],
    differences: list[tuple[str, int]],
    records: set[tuple[str, int]],
    blocked_by_line: set[str],
) -> dict[tuple[str, int], str]:
    """bench/census.py's verdict on each (user, circular) whose record differs from the inbox."""
    by_key: dict[str, list[census.Request]] = {}
    for entry in sorted(log, key=lambda e: e["startedAt"]):
        if entry["retryKey"]:
            by_key.setdefault(entry["retryKey"], []).append(
                census.Request(
                    entry["requestId"],
                    entry["status"],
                    started=entry["startedAt"],
                    accepted=entry["acceptedAt"],
                    answered=entry["timestamp"],
                )
            )
    verdicts: dict[tuple[str, int], str] = {}
    engine = engine_for(url)
    with Session(engine) as session:
        for user_id, circular_id in differences:
            resident, batch = session.execute(
                select(Resident, DeliveryBatch)
                .join(Delivery, Delivery.resident_id == Resident.id)
                .join(DeliveryBatch, DeliveryBatch.id == Delivery.batch_id)
                .where(
                    Resident.line_user_id == user_id,
                    Delivery.circular_id == circular_id,
                    Delivery.slot == CARD,
                )
            ).one()
            verdicts[(user_id, circular_id)] = census.judge(
                census.Evidence(
                    recorded_sent=(user_id, circular_id) in records,
                    received=(user_id, circular_id) not in records,
                    blocked_by_line=user_id in blocked_by_line,
                    unfollow_recorded=epoch_ms(resident.blocked_at),
                    maybe_accepted_since=epoch_ms(batch.maybe_accepted_since),
                    server_errors={
                        request_id: epoch_ms(datetime.fromisoformat(ended)) or 0
                        for request_id, ended in (batch.server_errors or {}).items()
                    },
                    requests=tuple(by_key.get(str(batch.retry_key), ())),
                )
            )
    engine.dispose()
    return verdicts


def epoch_ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def diagnose(
    url: str,
    base: str,
    log: list[dict[str, Any]],
    records: set[tuple[str, int]],
    user_id: str,
    circular_id: int,
) -> str:
    """One disagreement with what both sides knew, and when: the user's block in LINE, the
    multicasts of the circular that named them, Kairan's unfollow and the batch's record."""
    entries = control(base, "GET", f"/users/{user_id}/chat")["entries"]
    blocks = [e["timestamp"] for e in entries if e["from"] == "user" and e["kind"] == "block"]
    unit = unit_name(circular_id)
    requests = [
        f"{clock(e['timestamp'])} {e['status']} {e['fault'] or 'no fault'}"
        for e in log
        if user_id in (e["body"] or {}).get("to", ())
        and unit in (e["body"] or {}).get("customAggregationUnits", ())
    ]
    engine = engine_for(url)
    with Session(engine) as session:
        resident = session.scalars(select(Resident).where(Resident.line_user_id == user_id)).one()
        delivery = session.scalars(
            select(Delivery).where(
                Delivery.resident_id == resident.id,
                Delivery.circular_id == circular_id,
                Delivery.slot == CARD,
            )
        ).one()
        batch = session.get(DeliveryBatch, delivery.batch_id) if delivery.batch_id else None
        facts = (
            f"{user_id} circular {circular_id}: recorded {delivery.status.value}"
            f" (in records {(user_id, circular_id) in records}); blocked in LINE at"
            f" {', '.join(clock(b) for b in blocks) or '-'}; Kairan's unfollow recorded at"
            f" {clock(resident.blocked_at)}; multicasts naming them: {'; '.join(requests)};"
            f" batch {batch.id if batch else '-'} {batch.status.value if batch else ''}"
            f" completed {clock(batch.completed_at if batch else None)}"
        )
    engine.dispose()
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--residents", type=int, default=30_000)
    parser.add_argument("--outsiders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=60, help="Workers SIGKILLed.")
    parser.add_argument("--max-pause", type=float, default=0.5, help="Seconds between kills.")
    parser.add_argument("--workers", type=int, help="At once (PostgreSQL 2; SQLite always 1).")
    parser.add_argument("--kill-connections", type=float, default=1.0, help="PostgreSQL only.")
    parser.add_argument("--unfollowers", type=int, default=40, help="Block the bot mid-send.")
    parser.add_argument("--error500", type=float, default=0.06)
    parser.add_argument("--error429", type=float, default=0.06)
    parser.add_argument("--refuse", type=float, default=0.03)
    parser.add_argument("--drop", type=float, default=0.03)
    parser.add_argument("--accept-then-drop", type=float, default=0.04)
    parser.add_argument("--accept-then-error500", type=float, default=0.04)
    parser.add_argument("--slow", type=float, default=0.02, help="Answered after 11 s.")
    parser.add_argument("--latency-mean", type=float, default=0.05, help="Seconds, exponential.")
    parser.add_argument("--block-before-delivery", type=float, default=0.0005)
    parser.add_argument("--tail-limit", type=float, default=900, help="Seconds, at most.")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--logs", type=Path, help="Keep the processes' logs here.")
    args = parser.parse_args()
    postgresql = args.database == "postgresql"
    concurrency = (args.workers or 2) if postgresql else 1
    rng = random.Random(args.seed)  # noqa: S311 - picks moments, not secrets
    print(f"chaos seed {args.seed} (--seed to replay the same kills and faults)", flush=True)

    logs = args.logs or Path(tempfile.mkdtemp(prefix="kairan-chaos-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"logs in {logs}", flush=True)
    with (
        Processes(logs) as processes,
        scratch_database(args.database, "chaos", args.postgres) as url,
    ):
        env = environment(KAIRAN_LOG_LEVEL="INFO")
        base, _simulator = start_simulator(processes, "simulator", rate_limits=False, env=env)
        targeted = control(base, "POST", "/users/bulk", {"count": args.residents})["userIds"]
        outsiders = control(base, "POST", "/users/bulk", {"count": args.outsiders})["userIds"]
        association_id, author_id = populate(url, targeted)
        neighbour_association(url, association_id, "F1B", outsiders)
        web_url = f"{url}?application_name={WEB_APPLICATION_NAME}" if postgresql else url
        web_env = {
            **env,
            "DATABASE_URL": web_url,
            "LINE_API_BASE_URL": base,
            "WEB_CONCURRENCY": "2",
        }
        port, _web = gunicorn(processes, "web", ["linebot_app:create_app()"], web_env)
        # LINE redelivers a webhook the bot did not answer 200, a bounded number of times.
        control(
            base,
            "POST",
            "/webhook-url",
            {"url": f"http://127.0.0.1:{port}/callback", "timeoutSeconds": 10, "maxRetries": 5},
        )
        released = release_both(url, association_id, author_id, concurrent=postgresql)
        circular_ids = [circular_id for circular_id, _batches in released]
        print(
            f"{args.residents} residents, circulars {circular_ids} released"
            f" {'at once' if postgresql else 'one after the other'},"
            f" {sum(b for _c, b in released)} batches; {concurrency} worker(s)",
            flush=True,
        )
        control(
            base,
            "POST",
            "/faults",
            {
                "error500": args.error500,
                "error429": args.error429,
                "refuse": args.refuse,
                "drop": args.drop,
                "acceptThenDrop": args.accept_then_drop,
                "acceptThenError500": args.accept_then_error500,
                "slow": args.slow,
                # Past the client's read timeout (10 s): LINE sent, Kairan never heard.
                "slowSeconds": 11,
                "latency": {
                    "distribution": "exponential",
                    "mean": args.latency_mean,
                    "max": 20 * args.latency_mean,
                },
                "blockBeforeDelivery": args.block_before_delivery,
                "seed": args.seed,
                "paths": [MULTICAST],
            },
        )
        workers = Workers(processes, {**env, "DATABASE_URL": url, "LINE_API_BASE_URL": base}, logs)
        stop = threading.Event()
        connection_kills: list[int] = []
        unfollowed: list[str] = []
        leaving = rng.sample(targeted, args.unfollowers)
        helpers = [
            threading.Thread(
                target=unfollow_some,
                args=(base, leaving, stop, random.Random(args.seed + 1), unfollowed),  # noqa: S311
            )
        ]
        if postgresql and args.kill_connections > 0:
            helpers.append(
                threading.Thread(
                    target=connection_killer,
                    args=(url, stop, args.kill_connections, connection_kills),
                    kwargs={"spare": WEB_APPLICATION_NAME},
                )
            )
        started = time.monotonic()
        for helper in helpers:
            helper.start()
        try:
            for _ in range(args.rounds):
                while len(workers.running) < concurrency:
                    workers.start()
                time.sleep(rng.uniform(0.0, args.max_pause))
                workers.kill_one(rng)
        finally:
            stop.set()
            for helper in helpers:
                helper.join()
        faulty = time.monotonic() - started

        # LINE and the database recover.
        control(base, "POST", "/faults", {})
        if not workers.running:
            workers.start()
        recovered = time.monotonic()
        while len(workers.running) < concurrency:
            workers.start()
        done = wait_until_all_sent(url, circular_ids, args.tail_limit)
        tail = done - recovered

        # The census. Unfollow webhooks of recipients who blocked before delivery are sent
        # from the simulator's threads: wait (bounded) until Kairan has recorded them all.
        states = {u["userId"]: u["state"] for u in control(base, "GET", "/users")["users"]}
        targeted_set = set(targeted)
        blocked = {u for u in targeted if states[u] == "blocked"}
        blocked_by_line = blocked - set(unfollowed)
        give_up = time.monotonic() + 60
        while blocked_in_kairan(url, targeted_set) != blocked and time.monotonic() < give_up:
            time.sleep(0.5)
        known_blocked = blocked_in_kairan(url, targeted_set)
        inbox = {
            circular_id: control(base, "GET", f"/inbox-counts?unit={unit_name(circular_id)}")[
                "counts"
            ]
            for circular_id in circular_ids
        }
        everything = control(base, "GET", "/inbox-counts")["counts"]
        records = recorded_sent(url)
        engine = engine_for(url)
        with Session(engine) as session:
            shown = {c: progress(session, c).deliveries for c in circular_ids}
        engine.dispose()
        log = control(base, "GET", f"/requests?path={MULTICAST}")["requests"]
        webhooks = control(base, "GET", "/webhooks")["webhooks"]
        copies = sum(inbox[c].get(u, 0) for c in circular_ids for u in targeted)
        lost = [
            (u, c)
            for c in circular_ids
            for u in targeted
            if states[u] == "following" and inbox[c].get(u, 0) == 0
        ]
        duplicated = sum(max(0, inbox[c].get(u, 0) - 1) for c in circular_ids for u in targeted_set)
        misdelivered = sum(everything.get(u, 0) for u in outsiders)
        sent_not_received = [
            (u, c)
            for c in circular_ids
            for u in targeted
            if (u, c) in records and not inbox[c].get(u)
        ]
        received_not_sent = [
            (u, c)
            for c in circular_ids
            for u in targeted
            if inbox[c].get(u) and (u, c) not in records
        ]
        verdicts = judge_differences(
            url, log, sent_not_received + received_not_sent, records, blocked_by_line
        )
        unexplained = [d for d, verdict in verdicts.items() if verdict == census.DISAGREE]
        why = [diagnose(url, base, log, records, u, c) for u, c in unexplained[:20]]

    faults = Counter(entry["fault"] or "none" for entry in log)
    statuses = Counter(entry["status"] for entry in log)
    latencies = [entry["latencySeconds"] for entry in log]
    webhook_statuses = Counter(str(entry["status"]) for entry in webhooks)

    print(
        f"faulty phase {faulty:.1f} s; workers started {workers.started},"
        f" SIGKILLed {workers.killed}"
    )
    if postgresql:
        print(
            f"connections killed: {sum(connection_kills)} in {len(connection_kills)} rounds"
            f" every {args.kill_connections:g} s (the web app's spared)"
        )
    print(f"multicasts: {len(log)}; faults drawn by kind: {dict(sorted(faults.items()))}")
    print(f"multicast answers (status: count): {dict(sorted(statuses.items()))}")
    print(
        f"latency drawn: mean {sum(latencies) / max(1, len(latencies)):.3f} s,"
        f" max {max(latencies, default=0.0):.3f} s over {len(latencies)} requests"
    )
    print(
        f"unfollowed mid-send through the webhook: {len(unfollowed)};"
        f" blocked between LINE's acceptance and delivery: {len(blocked_by_line)};"
        f" unfollows Kairan recorded: {len(known_blocked)} of {len(blocked)};"
        f" webhook answers: {dict(sorted(webhook_statuses.items()))}"
    )
    for circular_id in circular_ids:
        print(f"circular {circular_id} deliveries: {shown[circular_id]}")
    print(f"tail after recovery: {tail:.1f} s (faults cleared and a worker running → all sent)")
    print(f"copies in targeted inboxes: {copies} ({CIRCULARS} circulars × {args.residents})")
    print(f"lost: {len(lost)}; duplicated: {duplicated}; misdelivered: {misdelivered}")
    print(
        f"records that disagree with LINE: {len(sent_not_received) + len(received_not_sent)}"
        f" (recorded sent, not received: {len(sent_not_received)};"
        f" received, not recorded sent: {len(received_not_sent)})"
    )
    print(f"  judged from both sides' evidence: {dict(sorted(Counter(verdicts.values()).items()))}")
    for line in why:
        print(f"  disagree: {line}")
    unfinished = any(d["pending"] or d["failed"] for d in shown.values())
    held = not (lost or duplicated or misdelivered or unexplained or unfinished)
    print(f"exactly once and records agree: {'yes' if held else 'NO'}")
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
