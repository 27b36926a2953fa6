"""The same webhook event reaching two gunicorn workers at the same moment takes effect once.

Only meaningful where two processes really write at once: PostgreSQL. On SQLite it skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linebot_app.extensions import db
from models import Acknowledgement, Circular, Delivery, ProcessedWebhookEvent, Resident
from simulator.testing import RunningSimulator, SimulatorClient
from tests.conftest import line_signature, postback_event
from tests.e2e.test_processes import environment, free_port, procfile, wait_for


@pytest.fixture
def web(app: Flask, line_simulator: RunningSimulator, tmp_path: Any) -> Iterator[str]:
    """The Procfile's web line, two workers, on the test's PostgreSQL database."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("two workers writing at once is a PostgreSQL matter")
    port = free_port()
    env = environment(
        tmp_path,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        LINE_CHANNEL_SECRET="test-channel-secret",
        LINE_CHANNEL_ACCESS_TOKEN="test-access-token",
        SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        KAIRAN_PUBLIC_URL="https://kairan.test",
        LINE_API_BASE_URL=line_simulator.base_url,
        DATABASE_URL=url.render_as_string(hide_password=False),
    )
    process = subprocess.Popen(
        procfile()["web"], shell=True, cwd=tmp_path, env=env, start_new_session=True
    )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == 200
        yield f"http://127.0.0.1:{port}/callback"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def post_at_once(url: str, body: bytes, copies: int) -> list[int]:
    """POST the same signed body from `copies` threads released together."""
    barrier = threading.Barrier(copies)
    statuses: list[int] = []

    def send() -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Line-Signature": line_signature(body)},
        )
        barrier.wait()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            statuses.append(int(response.status))

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_copies_of_one_event_on_two_workers_confirm_once(
    web: str,
    sim: SimulatorClient,
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    user = "U" + "b" * 32
    resident = make_resident(line_user_id=user)
    circulars = [make_circular() for _ in range(5)]
    for circular in circulars:
        session.add(Delivery(circular=circular, resident=resident))
    session.commit()
    for circular in circulars:
        event = postback_event(user, f"ack:{circular.id}")
        redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
        statuses = post_at_once(web, json.dumps({"events": [event]}).encode(), 2)
        statuses += post_at_once(web, json.dumps({"events": [redelivered]}).encode(), 1)
        assert statuses == [200, 200, 200]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == len(circulars)
    assert session.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) == len(circulars)
    # One effect per event also means one reply per event, never one per copy.
    assert len(sim.requests_log("/v2/bot/message/reply")) == len(circulars)
