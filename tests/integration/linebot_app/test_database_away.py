"""PostgreSQL connections killed under the app (a failover, a restart): the next request and the
worker reconnect by themselves, and nothing is lost (issue #9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from broadcasts.circulars.release import release
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import db, line
from models import Acknowledgement, Association, Circular, CircularTarget, ProcessedWebhookEvent
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.webhooks import postback_event


def kill_connections(url: str) -> int:
    """pg_terminate_backend on every other connection to the test database."""
    admin = create_engine(url, poolclass=NullPool)
    with admin.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    return int(killed)


def test_webhooks_and_the_worker_survive_killed_connections(
    database_url: str,
    session: Session,
    sim: SimulatorClient,
    clock: FakeClock,
    worker: Worker,
    post_webhook: Callable[..., Any],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is a PostgreSQL matter")
    assert worker.drain() == 0  # the worker's pool now holds a connection
    association = make_association()
    residents = make_line_residents(600, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    assert release(session, clock, circular, remaining_quota(line())).released
    session.commit()
    circular_id = circular.id
    session.close()

    # The worker's pooled connection dies while it is idle; it reconnects and sends.
    assert kill_connections(database_url) > 0
    assert worker.drain() == 2
    counts = sim.inbox_counts()
    assert {counts[u] for u in residents} == {1}

    # The web's connections die between two webhooks; the next one is applied once.
    event = postback_event(residents[0], f"ack:{circular_id}")
    assert post_webhook([postback_event(residents[1], f"ack:{circular_id}")]).status_code == 200
    assert kill_connections(database_url) > 0
    assert post_webhook([event]).status_code == 200
    assert post_webhook([{**event, "deliveryContext": {"isRedelivery": True}}]).status_code == 200
    with db.sessionmaker() as fresh:
        assert fresh.scalar(select(func.count()).select_from(Acknowledgement)) == 2
        assert fresh.get(ProcessedWebhookEvent, event["webhookEventId"]) is not None
