"""The same webhook event reaching two gunicorn workers at the same moment takes effect once.

Only meaningful where two processes really write at once: PostgreSQL. On SQLite it skips.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Acknowledgement, Circular, Delivery, ProcessedWebhookEvent, Resident
from simulator.testing import SimulatorClient
from tests.helpers.webhooks import line_signature, postback_event


def post_at_once(url: str, body: bytes, copies: int) -> list[int]:
    """POST the same signed body from `copies` threads released together."""
    return post_each_at_once(url, [body] * copies)


def post_each_at_once(url: str, bodies: list[bytes]) -> list[int]:
    """POST each signed body from a thread of its own, the threads released together."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body: bytes) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Line-Signature": line_signature(body)},
        )
        barrier.wait()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            statuses.append(int(response.status))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
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


def test_one_worker_serves_webhooks_while_their_replies_wait_on_line(
    serve_web: Callable[[int], str],
    sim: SimulatorClient,
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    """LINE takes each reply across the internet; here every reply takes 2 s. One worker must
    go on answering other webhooks meanwhile: four at once take one wait, not four."""
    url = serve_web(1)
    circular = make_circular()
    users = [f"U{n:032x}" for n in range(1, 5)]
    for user in users:
        session.add(Delivery(circular=circular, resident=make_resident(line_user_id=user)))
    session.commit()
    wait = 2.0
    sim.set_faults(slow=1.0, slowSeconds=wait, paths=["/v2/bot/message/reply"])
    bodies = [
        json.dumps({"events": [postback_event(user, f"ack:{circular.id}")]}).encode()
        for user in users
    ]
    started = time.monotonic()
    statuses = post_each_at_once(url, bodies)
    elapsed = time.monotonic() - started
    assert statuses == [200] * len(users)
    assert len(sim.requests_log("/v2/bot/message/reply")) == len(users)
    # One after another they would take 4 × 2 s.
    assert elapsed < 2.5 * wait, f"{elapsed:.1f} s for {len(users)} webhooks"
