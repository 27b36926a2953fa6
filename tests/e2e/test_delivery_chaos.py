"""The chaos test: two circulars released at once; workers killed with SIGKILL at random
moments while LINE fails often (and, on PostgreSQL, their database connections are killed every
second) and residents unfollow mid-send. In the end, counted from the simulator's inboxes, every
resident who stayed holds exactly one copy of each, nobody else holds any, and Kairan's records
agree with what LINE delivered."""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from broadcasts.core.clock import SystemClock
from broadcasts.delivery.reports import progress
from broadcasts.residents import registration
from linebot_app import create_app
from linebot_app.extensions import db
from models import (
    CARD,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    Resident,
)
from simulator.testing import RunningSimulator, SimulatorClient
from tests.helpers.chaos import Workers, prepare
from tests.helpers.processes import environment
from tests.helpers.settings import TEST_SETTINGS, make_settings
from tests.helpers.waiting import PATIENCE, deadline

RESIDENTS = 5000
ROUNDS = 20
CIRCULARS = 2  # released at once
UNFOLLOWERS = 20  # unfollow while their circulars are sent
SPARED = "chaos-unfollow"  # the application_name of a connection the killer leaves alone


def kill_connections(url: str, stop: threading.Event, kills: list[int]) -> None:
    """`pg_terminate_backend` on the workers' connections every second until `stop`: claims,
    records and start-up checks die wherever they are."""
    engine = create_engine(url, poolclass=NullPool)
    while not stop.wait(1.0):
        with contextlib.suppress(OperationalError), engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend' AND application_name <> :spared"
                ),
                {"spared": SPARED},
            ).scalar_one()
            connection.commit()
            kills.append(int(killed))
    engine.dispose()


def unfollow_some(
    url: str,
    sim: SimulatorClient,
    user_ids: list[str],
    stop: threading.Event,
    rng: random.Random,
    unfollowed: list[str],
) -> None:
    """Residents who unfollow while their circulars are being sent: LINE stops delivering to
    each at once, and Kairan records it as the webhook's unfollow does. (Its connection is
    spared by the killer: an unfollow recorded late is one Kairan could not know of.)"""
    engine = create_engine(
        url,
        poolclass=NullPool,
        **({"connect_args": {"application_name": SPARED}} if url.startswith("postgresql") else {}),
    )
    with Session(engine) as session:
        for user_id in user_ids:
            if stop.wait(rng.uniform(0.2, 1.5)):
                break
            sim.block(user_id)
            registration.unfollow(session, SystemClock(), user_id, datetime.now(UTC))
            session.commit()
            unfollowed.append(user_id)
    engine.dispose()


def sent_cards(url: str) -> dict[str, int]:
    """Per LINE user, how many cards Kairan recorded sent."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Resident.line_user_id, func.count())
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.slot == CARD, Delivery.status == DeliveryStatus.sent)
            .group_by(Resident.line_user_id)
        ).all()
    engine.dispose()
    return {user_id: int(count) for user_id, count in rows}


def all_sent(url: str, circular_ids: list[int]) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            statuses = connection.execute(
                select(Circular.status).where(Circular.id.in_(circular_ids))
            ).scalars()
            return all(status is CircularStatus.sent for status in statuses)
    finally:
        engine.dispose()


# Twenty rounds of starting and killing workers, then the rest sent: minutes on a busy machine.
@pytest.mark.timeout(900)
def test_workers_killed_at_random_deliver_each_card_exactly_once(
    own_database: str, chaos_simulator: RunningSimulator, tmp_path: Path
) -> None:
    postgresql = own_database.startswith("postgresql")
    circular_ids, targeted, outsiders = prepare(
        own_database, chaos_simulator, residents=RESIDENTS, circulars=CIRCULARS
    )
    sim = chaos_simulator.client
    seed = int(os.environ.get("CHAOS_SEED", time.time()))
    print(f"chaos seed: {seed} (set CHAOS_SEED to replay)")  # noqa: T201
    rng = random.Random(seed)  # noqa: S311 - picks moments, not secrets
    sim.set_faults(
        error500=0.10,
        error429=0.10,
        acceptThenDrop=0.05,
        # Answered after the client gave up (its read timeout is 10 s): LINE sent, Kairan
        # never heard.
        slow=0.03,
        slowSeconds=11,
        seed=seed,
        paths=["/v2/bot/message/multicast"],
    )
    env = environment(
        tmp_path,
        **{
            **TEST_SETTINGS,
            "DATABASE_URL": own_database,
            "LINE_API_BASE_URL": chaos_simulator.base_url,
        },
    )
    workers = Workers(env, tmp_path)
    # Two at once where that is allowed; SQLite runs one.
    concurrency = 2 if postgresql else 1
    stop, kills, unfollowed = threading.Event(), list[int](), list[str]()
    leaving = rng.sample(targeted, UNFOLLOWERS)
    helpers = [
        threading.Thread(
            target=unfollow_some,
            args=(own_database, sim, leaving, stop, random.Random(seed + 1), unfollowed),  # noqa: S311
        )
    ]
    if postgresql:
        helpers.append(threading.Thread(target=kill_connections, args=(own_database, stop, kills)))
    for helper in helpers:
        helper.start()
    try:
        for _ in range(ROUNDS):
            while len(workers.running) < concurrency:
                workers.start()
            time.sleep(rng.uniform(0.0, 0.5))
            workers.kill(rng.choice(workers.running))
        stop.set()
        for helper in helpers:
            helper.join()
        # LINE and the database recover: what is left goes out.
        sim.clear_faults()
        while len(workers.running) < concurrency:
            workers.start()
        # Two circulars under faults on a busy machine: twice the usual patience.
        give_up = deadline() + PATIENCE
        while not all_sent(own_database, circular_ids):
            assert time.monotonic() < give_up, "circulars not all sent"
            time.sleep(0.5)
        assert workers.stop_all() == [0] * concurrency
    finally:
        stop.set()
        for helper in helpers:
            helper.join()
        for process in workers.running:
            process.kill()
            process.wait()

    # Counted from the simulator's inboxes.
    counts = sim.inbox_counts()
    recorded = sent_cards(own_database)
    staying = set(targeted) - set(unfollowed)
    wrong = {u: counts.get(u, 0) for u in staying if counts.get(u, 0) != CIRCULARS}
    assert not wrong, f"{len(wrong)} residents without exactly one copy of each (seed {seed})"
    assert all(recorded.get(u, 0) == CIRCULARS for u in staying)
    assert all(counts.get(u, 0) == 0 for u in outsiders)
    assert all(counts.get(u, 0) <= CIRCULARS for u in unfollowed)
    # Kairan's records agree with what LINE delivered to those who left mid-send (the outside
    # run found up to 15 of 20 recorded sent who got nothing). Not all of them always: a worker
    # killed while LINE held the request it accepted leaves the acceptance dated at the claim,
    # and an unfollow after that claim is counted sent (docs/delivery.md; bench/census.py).
    disagree = [
        (counts.get(u, 0), recorded.get(u, 0))
        for u in unfollowed
        if counts.get(u, 0) != recorded.get(u, 0)
    ]
    print(  # noqa: T201
        f"unfollowed {len(unfollowed)}, records disagreeing with inboxes {len(disagree)}"
        f" (received, recorded sent: {disagree});"
        f" connection kill rounds {len(kills)}, connections killed {sum(kills)}"
    )
    assert len(disagree) <= len(unfollowed) // 4, f"{len(disagree)} disagree (seed {seed})"
    assert len(unfollowed) == UNFOLLOWERS
    app = create_app(make_settings(DATABASE_URL=own_database))
    with app.app_context():
        for circular_id in circular_ids:
            shown = progress(db.session, circular_id)
            assert shown.deliveries["pending"] == 0
            assert shown.deliveries["failed"] == 0
            assert shown.deliveries["sent"] + shown.deliveries["skipped"] == RESIDENTS
            assert shown.deliveries["skipped"] <= UNFOLLOWERS
        db.session.close()
        db.engine.dispose()
    assert workers.started >= ROUNDS
