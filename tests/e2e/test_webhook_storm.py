"""A webhook storm (issue #9): every event sent twice at once and once more as LINE's
redelivery, all shuffled, to three gunicorn workers → exactly one effect and one reply each.

The long variant (more events, connections killed during the storm) is `bench/reliability.py`.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Acknowledgement,
    Circular,
    Delivery,
    FollowStatus,
    ProcessedWebhookEvent,
    Resident,
)
from simulator.testing import SimulatorClient
from tests.helpers.webhooks import line_event, line_signature, postback_event


def post(url: str, event: dict[str, Any]) -> int:
    body = json.dumps({"events": [event]}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": line_signature(body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def storm(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Each event twice as sent and once as redelivered, in a shuffled order."""
    copies = [
        copy
        for event in events
        for copy in (event, event, {**event, "deliveryContext": {"isRedelivery": True}})
    ]
    random.Random(seed).shuffle(copies)  # noqa: S311 - a test's order, not a secret
    return copies


def test_a_storm_of_duplicated_shuffled_redelivered_events_takes_effect_once_each(
    serve_web: Callable[[int], str],
    session: Session,
    sim: SimulatorClient,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    url = serve_web(3)
    readers = [make_resident(line_user_id=f"U{n:032x}") for n in range(1, 21)]
    leaving = [make_resident(line_user_id=f"U{n:032x}") for n in range(21, 31)]
    circulars = [make_circular() for _ in range(3)]
    for resident in readers:
        for circular in circulars:
            session.add(Delivery(circular=circular, resident=resident))
    session.commit()
    newcomers = [f"U{n:032x}" for n in range(101, 121)]
    confirmations = [
        postback_event(r.line_user_id, f"ack:{c.id}") for r in readers for c in circulars
    ]
    follows = [line_event("follow", user) for user in newcomers]
    unfollows = [line_event("unfollow", r.line_user_id) for r in leaving]
    events = confirmations + follows + unfollows

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda event: post(url, event), storm(events, seed=9)))

    assert statuses == [200] * (3 * len(events))
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) == len(events)
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == len(confirmations)
    per_pair = session.execute(
        select(Acknowledgement.circular_id, Acknowledgement.resident_id, func.count()).group_by(
            Acknowledgement.circular_id, Acknowledgement.resident_id
        )
    ).all()
    assert {count for _c, _r, count in per_pair} == {1}
    registered = session.scalars(
        select(Resident.line_user_id).where(Resident.line_user_id.in_(newcomers))
    ).all()
    assert sorted(registered) == newcomers  # one resident per newcomer, none twice
    blocked = session.scalars(
        select(Resident.follow_status).where(Resident.id.in_([r.id for r in leaving]))
    ).all()
    assert set(blocked) == {FollowStatus.blocked}
    # One reply per event that answers (confirmations and follows), never one per copy.
    replies = sim.requests_log("/v2/bot/message/reply")
    assert len(replies) == len(confirmations) + len(follows)
