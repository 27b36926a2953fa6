"""The worker stays up: a sender that meets an unexpected error gives its batch back and is
replaced, `/healthz` tells how many senders are alive, and the SQLite lock is the file's."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker, WorkerAlreadyRunning, single_worker_on_sqlite
from linebot_app.extensions import db, line
from models import Association, BatchStatus, Circular, CircularStatus, CircularTarget, DeliveryBatch
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.databases import db_dialect
from tests.helpers.waiting import wait_until

REFUSE_ACCEPT = {
    "sqlite": [
        "CREATE TRIGGER refuse_accept BEFORE UPDATE OF status ON delivery_batches"
        " WHEN NEW.status = 'accepted' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_accept() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
        "CREATE TRIGGER refuse_accept BEFORE UPDATE ON delivery_batches FOR EACH ROW"
        " WHEN (NEW.status = 'accepted') EXECUTE FUNCTION refuse_accept()",
    ],
}
ALLOW_ACCEPT = {
    "sqlite": ["DROP TRIGGER IF EXISTS refuse_accept"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS refuse_accept ON delivery_batches",
        "DROP FUNCTION IF EXISTS refuse_accept()",
    ],
}


@pytest.fixture
def refused_records(app: Flask, session: Session) -> Iterator[Callable[[], None]]:
    """A database that refuses to record an accepted batch (an error that is not a lost
    connection) until the returned function lifts it."""
    dialect = db_dialect(app)

    def run(statements: list[str]) -> None:
        for statement in statements:
            session.execute(text(statement))
        session.commit()

    run(REFUSE_ACCEPT[dialect])
    yield lambda: run(ALLOW_ACCEPT[dialect])
    run(ALLOW_ACCEPT[dialect])


def test_a_sender_that_meets_an_unexpected_error_gives_its_batch_back_and_is_replaced(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
    sim: SimulatorClient,
    refused_records: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # /healthz judges the worker's heartbeat by the system clock.
    clock.moment = datetime.now(UTC)
    association = make_association(name="桜町内会")
    user_ids = make_line_residents(3, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    assert release(session, clock, circular, remaining_quota(line())).released
    session.commit()
    batch_id = session.scalars(
        select(DeliveryBatch.id).where(DeliveryBatch.circular_id == circular.id)
    ).one()
    worker = Worker(db.sessionmaker, line(), clock, "test-worker")
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(stop,), kwargs={"senders": 1})
    caplog.set_level(logging.INFO, logger="broadcasts.delivery.worker")
    running.start()
    try:
        wait_until(
            lambda: any(
                r.levelno >= logging.ERROR and f"batch {batch_id} " in r.getMessage()
                for r in caplog.records
            ),
            "the failure logged with its batch",
        )

        def batch_status() -> BatchStatus:
            session.expire_all()
            return session.get_one(DeliveryBatch, batch_id).status

        wait_until(lambda: batch_status() is BatchStatus.pending, "the batch back to pending")
        refused_records()
        clock.advance(minutes=5)

        def circular_sent() -> bool:
            session.expire_all()
            return session.get_one(Circular, circular.id).status is CircularStatus.sent

        wait_until(circular_sent, "the circular sent by the sender that replaced it")
        client = app.test_client()
        wait_until(
            lambda: (
                client.get("/healthz").get_json().get("senders")
                == {"workers": 1, "alive": 1, "wanted": 1}
            ),
            "/healthz reporting the live sender",
        )
    finally:
        stop.set()
        running.join(timeout=60)
    assert not running.is_alive()
    assert sorted(sim.inbox_counts().get(u, 0) for u in user_ids) == [1, 1, 1]
    # Only ids in the log, never what failed to be written.
    assert not any("refused by the test" in r.getMessage() for r in caplog.records)


def test_the_sqlite_worker_lock_is_the_files_however_its_path_is_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    database = tmp_path / "data" / "kairan.sqlite3"
    database.touch()
    (tmp_path / "kairan.sqlite3").symlink_to(database)
    spellings = [
        f"sqlite:///{database}",
        f"sqlite:///{tmp_path / 'kairan.sqlite3'}",  # a link to the file
        f"sqlite:///file:{database}?uri=true",  # SQLite's URI form
    ]
    first = create_engine(spellings[0])
    with single_worker_on_sqlite(first) as sole:
        assert sole
        for spelling in spellings:
            other = create_engine(spelling)
            with pytest.raises(WorkerAlreadyRunning), single_worker_on_sqlite(other):
                pass
            other.dispose()
    first.dispose()
