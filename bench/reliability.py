"""Long reliability run (issue #9): a webhook storm on several gunicorn workers while PostgreSQL
connections are killed under them.

Every confirmation event is sent twice at once and once more as LINE's redelivery, in a shuffled
order, from several client threads, to `--workers` gunicorn workers. Meanwhile a killer runs
`pg_terminate_backend` on the web's connections every `--kill-every` seconds, so requests die
mid-transaction. Like LINE, the client redelivers (isRedelivery true) every copy not answered 200,
up to `--attempts` times. At the end each event must have taken effect exactly once: one
processed-event row and one acknowledgement per event, none twice, none lost. The fast
variants are tests/e2e/test_webhook_storm.py and tests/e2e/test_database_away_mid_request.py.

    python bench/reliability.py [--events 2000] [--workers 3] [--kill-every 0.5]

PostgreSQL only (the server from --postgres; a scratch database is created and dropped). Prints
what happened and exits non-zero if exactly-once did not hold.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    DEFAULT_POSTGRES,
    SECRETS,
    Processes,
    connection_killer,
    engine_for,
    environment,
    scratch_database,
    start_simulator,
)
from bench.webhook import gunicorn, populate, signed_postbacks
from models import Acknowledgement, ProcessedWebhookEvent


def post(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # the connection died: LINE counts it as not delivered


def redelivered(body: bytes) -> bytes:
    webhook = json.loads(body)
    for event in webhook["events"]:
        event["deliveryContext"] = {"isRedelivery": True}
    return json.dumps(webhook).encode()


def storm(args: argparse.Namespace, logs: Path) -> bool:
    env = environment(WEB_CONCURRENCY=str(args.workers), KAIRAN_LOG_LEVEL="WARNING")
    with (
        Processes(logs) as processes,
        scratch_database("postgresql", "reliability", args.postgres) as url,
    ):
        circular_id = populate(url, args.events)
        base, _sim = start_simulator(processes, "simulator", rate_limits=False, env=env)
        app_env = {**env, "DATABASE_URL": url, "LINE_API_BASE_URL": base}
        port, _web = gunicorn(processes, "web", ["linebot_app:create_app()"], app_env)
        callback = f"http://127.0.0.1:{port}/callback"

        events = signed_postbacks(circular_id, range(args.events))
        redeliveries = []
        for body, _signature in events:
            again = redelivered(body)
            redeliveries.append((again, signature_of(again)))
        copies = [
            (n, copy) for n, event in enumerate(events) for copy in (event, event, redeliveries[n])
        ]
        random.Random(args.seed).shuffle(copies)  # noqa: S311 - an order, not a secret

        statuses: Counter[int] = Counter()
        redelivered_copies: list[int] = []
        lost: list[int] = []
        tally = threading.Lock()

        def deliver(item: tuple[int, tuple[bytes, str]]) -> None:
            n, (body, signature) = item
            for _attempt in range(args.attempts):
                status = post(callback, body, signature)
                with tally:
                    statuses[status] += 1
                if status == 200:
                    return
                redelivered_copies.append(n)
                body, signature = redeliveries[n]
            lost.append(n)

        stop = threading.Event()
        kills: list[int] = []
        chaos = threading.Thread(target=connection_killer, args=(url, stop, args.kill_every, kills))
        chaos.start()
        try:
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                list(pool.map(deliver, copies))
        finally:
            stop.set()
            chaos.join()

        engine = engine_for(url)
        with Session(engine) as session:
            processed = session.scalar(select(func.count()).select_from(ProcessedWebhookEvent))
            acknowledged = session.scalar(
                select(func.count())
                .select_from(Acknowledgement)
                .where(Acknowledgement.circular_id == circular_id)
            )
            doubled = session.scalar(
                select(func.count()).select_from(
                    select(Acknowledgement.resident_id)
                    .group_by(Acknowledgement.circular_id, Acknowledgement.resident_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        engine.dispose()

    print(f"events: {args.events}, copies sent first: {len(copies)}, web workers: {args.workers}")
    print(f"connections killed: {sum(kills)} in {len(kills)} rounds every {args.kill_every} s")
    print(f"answers: {dict(sorted(statuses.items()))} (0 = connection dropped)")
    print(f"redeliveries needed: {len(redelivered_copies)}; never answered 200: {len(lost)}")
    print(f"processed events: {processed}, acknowledgements: {acknowledged}, doubled: {doubled}")
    exactly_once = processed == acknowledged == args.events and doubled == 0 and not lost
    print("exactly once: " + ("yes" if exactly_once else "NO"))
    return exactly_once


def signature_of(body: bytes) -> str:
    secret = SECRETS["LINE_CHANNEL_SECRET"].encode()
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--kill-every", type=float, default=0.5, help="seconds between kills")
    parser.add_argument("--attempts", type=int, default=10, help="deliveries per copy, at most")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--logs", type=Path, help="Keep the processes' logs here.")
    args = parser.parse_args()
    logs = args.logs or Path(tempfile.mkdtemp(prefix="kairan-reliability-"))
    logs.mkdir(parents=True, exist_ok=True)
    sys.exit(0 if storm(args, logs) else 1)


if __name__ == "__main__":
    main()
