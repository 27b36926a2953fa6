"""Monitoring (issue #21, item 5): `/metrics` off unless KAIRAN_METRICS_TOKEN is set, then only
for that bearer token, its figures moving as a circular goes out through the simulator; and
`/healthz` degraded when the clock stops or a batch waits, on an injected clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from pydantic import SecretStr
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.worker import Worker
from broadcasts.schedule.jobs import acquire_lease
from linebot_app import create_app
from linebot_app.config import Settings
from linebot_app.extensions import db
from models import Association, Circular, CircularTarget
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.metrics import METRICS_TOKEN, sample, scrape
from tests.helpers.settings import make_settings
from tests.helpers.webhooks import line_event


@pytest.fixture
def metrics_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    settings: Settings = app.config["KAIRAN_SETTINGS"]
    token = SecretStr(METRICS_TOKEN)
    monkeypatch.setitem(
        app.config, "KAIRAN_SETTINGS", settings.model_copy(update={"KAIRAN_METRICS_TOKEN": token})
    )
    return app


@pytest.fixture
def clocked_app(app: Flask, database_url: str) -> Iterator[tuple[Flask, FakeClock]]:
    """A second app on the same database, on a clock the test moves, metrics on. It starts at
    the system's time: a batch's `created_at` is the database default's (models/base.py)."""
    clock = FakeClock(datetime.now(UTC))
    settings = app.config["KAIRAN_SETTINGS"]
    built = create_app(
        make_settings(
            DATABASE_URL=database_url,
            LINE_API_BASE_URL=settings.LINE_API_BASE_URL,
            KAIRAN_METRICS_TOKEN=METRICS_TOKEN,
        ),
        clock=clock,
    )
    built.config["TESTING"] = True
    yield built, clock
    with built.app_context():
        db.engine.dispose()


def test_metrics_is_not_found_without_the_setting(app: Flask) -> None:
    response = app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 404
    # Kairan's own short answer, not the framework's HTML page.
    assert response.mimetype == "text/plain"
    assert b"<html" not in response.data.lower()


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", f"Bearer {METRICS_TOKEN}x", f"Bearer {METRICS_TOKEN[:-1]}", METRICS_TOKEN],
)
def test_metrics_refuses_a_missing_or_wrong_token_and_never_logs_it(
    metrics_on: Flask, header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": header} if header else {}
    with caplog.at_level(logging.DEBUG):
        response = metrics_on.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"kairan_" not in response.data
    assert "scrape refused" in caplog.text
    assert METRICS_TOKEN[:16] not in caplog.text


def test_metrics_figures_move_as_a_circular_is_delivered_through_the_simulator(
    metrics_on: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    make_association: Callable[..., Association],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
    post_webhook: Callable[..., object],
) -> None:
    client = metrics_on.test_client()
    association = make_association()
    user_ids = make_line_residents(3, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    session.commit()
    before = scrape(client)
    assert sample(before, "kairan_deliveries_pending") == 0
    assert sample(before, "kairan_delivery_batches", status="pending") == 0

    assert release(session, clock, circular, None).released
    session.commit()
    released = scrape(client)
    assert sample(released, "kairan_deliveries_pending") == 3
    assert sample(released, "kairan_delivery_batches", status="pending") == 1
    assert sample(released, "kairan_multicasts_total", outcome="accepted") == 0

    assert worker.drain() == 1
    sent = scrape(client)
    assert sample(sent, "kairan_deliveries_pending") == 0
    assert sample(sent, "kairan_deliveries_in_flight") == 0
    assert sample(sent, "kairan_delivery_batches", status="accepted") == 1
    assert sample(sent, "kairan_multicasts_total", outcome="accepted") == 1
    assert sample(sent, "kairan_oldest_due_batch_age_seconds") == 0
    assert sum(sim.inbox_counts().get(user_id, 0) for user_id in user_ids) == 3

    # A resident's webhook: counted by type and outcome, its request timed.
    post_webhook([line_event("follow", sim.create_user())])
    after = scrape(client)
    handled = {"type": "follow", "outcome": "handled"}
    assert sample(after, "kairan_webhook_events_total", **handled) == (
        sample(sent, "kairan_webhook_events_total", **handled) + 1
    )
    assert sample(after, "kairan_webhook_request_seconds_count") == (
        sample(sent, "kairan_webhook_request_seconds_count") + 1
    )


def test_metrics_report_the_quota_and_the_clocks_last_tick(
    clocked_app: tuple[Flask, FakeClock], session: Session, sim: SimulatorClient
) -> None:
    built, clock = clocked_app
    sim.set_quota(1000, used=250)
    client = built.test_client()
    samples = scrape(client)
    assert sample(samples, "kairan_line_quota_remaining") == 750
    assert ("kairan_clock_last_tick_timestamp_seconds", frozenset()) not in samples

    ticked = clock.now()
    acquire_lease(session, clock, "test-clock")
    session.commit()
    clock.advance(seconds=40)
    sim.set_quota(1000, used=900)
    samples = scrape(client)
    assert sample(samples, "kairan_clock_last_tick_timestamp_seconds") == ticked.timestamp()
    # Asked again only after a few minutes: the last answer meanwhile.
    assert sample(samples, "kairan_line_quota_remaining") == 750
    clock.advance(minutes=5)
    assert sample(scrape(client), "kairan_line_quota_remaining") == 100


def test_healthz_is_degraded_while_the_clock_does_not_tick(
    clocked_app: tuple[Flask, FakeClock], session: Session
) -> None:
    built, clock = clocked_app
    client = built.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert "clock is not running" in response.json["reason"]

    acquire_lease(session, clock, "test-clock")
    session.commit()
    clock.advance(minutes=4, seconds=59)
    assert client.get("/healthz").json["status"] == "ok"
    clock.advance(minutes=1, seconds=2)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["reason"] == "the clock has not ticked for 6 minutes"


def test_healthz_is_degraded_when_a_batch_waits_for_a_worker_too_long(
    clocked_app: tuple[Flask, FakeClock],
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> None:
    built, clock = clocked_app
    client = built.test_client()
    association = make_association()
    make_line_residents(2, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    assert release(session, clock, circular, None).released
    session.commit()
    for _ in range(11):
        acquire_lease(session, clock, "test-clock")  # the clock ticks on; no worker runs
        session.commit()
        assert client.get("/healthz").json["status"] == "ok"
        clock.advance(minutes=1)
    acquire_lease(session, clock, "test-clock")
    session.commit()
    clock.advance(seconds=1)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "degraded",
        "reason": "a delivery batch has waited 11 minutes",
        "senders": {"workers": 0, "alive": 0, "wanted": 0},
    }
    age = sample(scrape(client), "kairan_oldest_due_batch_age_seconds")
    # Since the batch's `created_at`, the system's time at the release (just after the start).
    assert 11 * 60 <= age < 12 * 60


def test_metrics_answer_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'kairan.sqlite3'}"
    built = create_app(make_settings(DATABASE_URL=url, KAIRAN_METRICS_TOKEN=METRICS_TOKEN))
    response = built.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unreachable\n"
