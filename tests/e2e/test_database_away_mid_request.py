"""A PostgreSQL connection killed while a request or a batch is inside its transaction
(pg_terminate_backend, as in a failover or an administrator's kill): the work fails cleanly,
nothing half-done stays, and the retry — LINE's redelivery, the worker's next round — applies it
exactly once (issue #9).

Deterministic, with no timing: the test holds a row lock that the request's (or the worker's)
transaction must wait on, finds that waiting backend with pg_blocking_pids, and terminates it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from broadcasts.circulars.release import release
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import line
from models import (
    Acknowledgement,
    Association,
    Channel,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryBatch,
    ProcessedWebhookEvent,
    Resident,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.waiting import deadline
from tests.helpers.webhooks import line_signature, postback_event


@pytest.fixture
def locker(database_url: str) -> Iterator[Connection]:
    """A connection of the test's own, outside the app's pool, to hold locks with."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend and row locks held across processes: PostgreSQL only")
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def terminate_backend_waiting_on(locker: Connection) -> int:
    """Find the backend waiting on a lock `locker` holds, terminate it, and return its pid."""
    holder = locker.execute(text("SELECT pg_backend_pid()")).scalar_one()
    # pg_stat_activity is read once per transaction: look from a separate autocommit connection.
    watcher = create_engine(locker.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    give_up = deadline()
    try:
        with watcher.connect() as connection:
            while True:
                waiting = connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND :holder = ANY(pg_blocking_pids(pid))"
                    ),
                    {"holder": holder},
                ).scalar()
                if waiting is not None:
                    killed = connection.execute(
                        text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting}
                    ).scalar_one()
                    assert killed
                    return int(waiting)
                assert time.monotonic() < give_up, "nothing came to wait on the held lock"
                time.sleep(0.05)
    finally:
        watcher.dispose()


def post(url: str, event: dict[str, Any]) -> tuple[int, bytes]:
    body = json.dumps({"events": [event]}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": line_signature(body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_webhook_whose_connection_dies_mid_transaction_fails_cleanly_and_redelivery_applies_once(
    locker: Connection,
    web: str,
    session: Session,
    sim: SimulatorClient,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    user = "U" + "c" * 32
    resident = make_resident(line_user_id=user)
    circular = make_circular()
    session.add(Delivery(circular=circular, resident=resident))
    session.commit()
    event = postback_event(user, f"ack:{circular.id}")

    # The test's uncommitted acknowledgement of the same circular: the request claims the event,
    # then its INSERT … ON CONFLICT waits on this row — inside its transaction, claim included.
    locker.begin()
    locker.execute(
        insert(Acknowledgement).values(
            circular_id=circular.id,
            resident_id=resident.id,
            confirmed_at=func.now(),
            channel=Channel.line,
        )
    )
    answers: list[tuple[int, bytes]] = []
    request = threading.Thread(target=lambda: answers.append(post(web, event)))
    request.start()
    terminate_backend_waiting_on(locker)
    locker.rollback()
    request.join(timeout=60)

    assert len(answers) == 1
    status, body = answers[0]
    assert status == 500  # LINE redelivers what was not answered 2xx
    for leak in (b"Traceback", b"psycopg", b"OperationalError", b"SELECT", b"INSERT"):
        assert leak not in body
    session.expire_all()
    # The claim was rolled back with the rest: the redelivery is not taken for a duplicate.
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
    assert session.get(ProcessedWebhookEvent, event["webhookEventId"]) is None
    assert sim.requests_log("/v2/bot/message/reply") == []

    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert post(web, redelivered)[0] == 200
    assert post(web, redelivered)[0] == 200
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
    assert session.get(ProcessedWebhookEvent, event["webhookEventId"]) is not None
    assert len(sim.requests_log("/v2/bot/message/reply")) == 1


def test_worker_whose_connection_dies_mid_batch_reconnects_and_sends_exactly_once(
    locker: Connection,
    session: Session,
    sim: SimulatorClient,
    clock: FakeClock,
    worker: Worker,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    association = make_association()
    residents = make_line_residents(600, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    assert release(session, clock, circular, remaining_quota(line())).released
    session.commit()
    circular_id = circular.id
    session.close()

    # Recording a batch marks its deliveries sent: the test holds their rows, so the worker's
    # record transaction waits there after LINE accepted the multicast.
    locker.begin()
    locker.execute(select(Delivery.id).where(Delivery.circular_id == circular_id).with_for_update())
    errors: list[BaseException] = []

    def send_one() -> None:
        try:
            worker.run_once()
        except OperationalError as error:
            errors.append(error)

    sender = threading.Thread(target=send_one)
    sender.start()
    terminate_backend_waiting_on(locker)
    locker.rollback()
    sender.join(timeout=60)
    assert len(errors) == 1
    counts = sim.inbox_counts()
    assert sorted(counts[u] for u in residents) == [0] * 100 + [1] * 500

    # The same worker object goes on: its pool hands out a fresh connection.
    assert worker.drain() == 1
    # The first batch is still claimed by the lost transaction's predecessor; once stale it is
    # taken back and resent with its retry key, which LINE answers "already accepted".
    clock.advance(seconds=worker.stale_after.total_seconds() + 1)
    worker.recover(timedelta(seconds=worker.stale_after.total_seconds()))
    assert worker.drain() == 1
    counts = sim.inbox_counts()
    assert {counts[u] for u in residents} == {1}
    session.expire_all()
    assert session.get_one(Circular, circular_id).status is CircularStatus.sent
    keys = {str(key) for key in session.scalars(select(DeliveryBatch.retry_key))}
    accepted = [
        entry
        for entry in sim.requests_log("/v2/bot/message/multicast")
        if entry.get("retryKey") in keys and entry.get("status") == 200
    ]
    assert len(accepted) == 2
