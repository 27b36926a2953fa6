"""A retry key's 24 hours, end to end: the bot and the simulator share one clock the test moves.

LINE takes a multicast but answers 500 (the simulator's acceptThenError500): the residents have
their card and LINE remembers the key. Within 24 hours (less the engine's margin) the retry meets
the 409 and the batch is accepted; after them LINE has forgotten the key, so a resend would deliver
twice, and the engine holds the batch for a person instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from linebot.v3.messaging import TextMessage
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery import reports
from broadcasts.delivery.line import Line, Result, connect, multicast, remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import db
from models import (
    Association,
    BatchStatus,
    Circular,
    CircularStatus,
    CircularTarget,
    DeliveryBatch,
    Resident,
)
from simulator.testing import RunningSimulator, start_simulator
from tests.helpers.clock import FakeClock
from tests.helpers.settings import TEST_SETTINGS

MULTICAST = "/v2/bot/message/multicast"


@pytest.fixture
def shared_simulator(clock: FakeClock) -> Iterator[RunningSimulator]:
    """A simulator of this test's own whose time is the test's clock."""
    running = start_simulator(
        TEST_SETTINGS["LINE_CHANNEL_SECRET"],
        TEST_SETTINGS["LINE_CHANNEL_ACCESS_TOKEN"],
        clock=lambda: clock.now().timestamp(),
    )
    yield running
    running.stop()


@pytest.fixture
def shared_line(shared_simulator: RunningSimulator) -> Line:
    return connect(shared_simulator.base_url, TEST_SETTINGS["LINE_CHANNEL_ACCESS_TOKEN"])


@pytest.fixture
def sent_once_then_500(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_circular: Callable[..., Circular],
    shared_simulator: RunningSimulator,
    shared_line: Line,
) -> tuple[Circular, list[str], Worker]:
    """Three residents; their circular's one multicast accepted by LINE and answered 500."""
    sim = shared_simulator.client
    association = make_association()
    user_ids = sim.create_users(3)
    session.execute(
        insert(Resident),
        [
            {
                "line_user_id": user_id,
                "association_id": association.id,
                "registered_at": datetime(2026, 11, 1, tzinfo=UTC),
            }
            for user_id in user_ids
        ],
    )
    circular = make_circular(targets=[CircularTarget(association=association)])
    assert release(session, clock, circular, remaining_quota(shared_line)).released
    session.commit()
    worker = Worker(db.sessionmaker, shared_line, clock, "shared-clock-worker")
    sim.set_faults(acceptThenError500=1.0, paths=[MULTICAST])
    worker.drain()
    sim.clear_faults()
    session.expire_all()
    assert reports.progress(session, circular.id).batches["pending"] == 1
    assert set(copies(shared_simulator, user_ids).values()) == {1}
    return circular, user_ids, worker


def copies(running: RunningSimulator, user_ids: list[str]) -> dict[str, int]:
    counts = running.client.inbox_counts()
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}


def test_within_the_keys_lifetime_the_retry_meets_409_and_nobody_gets_two(
    session: Session,
    clock: FakeClock,
    shared_simulator: RunningSimulator,
    sent_once_then_500: tuple[Circular, list[str], Worker],
) -> None:
    circular, user_ids, worker = sent_once_then_500
    clock.advance(hours=22)  # inside LINE's 24 hours less the engine's hour of margin
    worker.drain()
    session.expire_all()
    assert reports.progress(session, circular.id).batches["accepted"] == 1
    assert circular.status is CircularStatus.sent
    assert [e["status"] for e in shared_simulator.client.requests_log(MULTICAST)] == [500, 409]
    assert set(copies(shared_simulator, user_ids).values()) == {1}


def test_after_24_hours_the_batch_is_held_because_line_forgot_its_key(
    session: Session,
    clock: FakeClock,
    shared_simulator: RunningSimulator,
    shared_line: Line,
    sent_once_then_500: tuple[Circular, list[str], Worker],
) -> None:
    circular, user_ids, worker = sent_once_then_500
    clock.advance(hours=25)
    assert worker.drain() == 0
    session.expire_all()
    (batch,) = session.scalars(
        select(DeliveryBatch).where(DeliveryBatch.circular_id == circular.id)
    ).all()
    assert batch.status is BatchStatus.held
    assert circular.status is CircularStatus.sending
    assert len(shared_simulator.client.requests_log(MULTICAST)) == 1
    assert set(copies(shared_simulator, user_ids).values()) == {1}
    # Why it holds: on the same clock LINE no longer knows the key, and a resend delivers again.
    resend = [TextMessage(text="再送")]
    again = multicast(shared_line, user_ids, resend, batch.retry_key, "kairan_test")
    assert again.result is Result.accepted
    assert set(copies(shared_simulator, user_ids).values()) == {2}
