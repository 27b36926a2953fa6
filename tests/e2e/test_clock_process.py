"""The clock as the Procfile runs it: stopped, time moved on, restarted — and started twice by
mistake: each missed reminder goes out exactly once; stopped while it starts or mid-tick, it ends
cleanly, the tick first."""

from __future__ import annotations

import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.pool import NullPool

from broadcasts.circulars.release import release
from broadcasts.core.clock import SystemClock
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app import create_app
from linebot_app.extensions import db, line
from models import (
    Association,
    Circular,
    CircularStatus,
    CircularTarget,
    District,
    Resident,
    SchedulerLease,
    StaffMember,
)
from simulator.testing import RunningSimulator, start_simulator
from tests.helpers.processes import environment, holds_signal, procfile
from tests.helpers.settings import TEST_SETTINGS, make_settings
from tests.helpers.waiting import PATIENCE, wait_until


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    running = start_simulator(
        TEST_SETTINGS["LINE_CHANNEL_SECRET"], TEST_SETTINGS["LINE_CHANNEL_ACCESS_TOKEN"]
    )
    yield running
    running.stop()


# How long the simulator takes to answer each of the two quota questions a release asks: the
# tick that releases a scheduled circular lasts at least twice this (under LINE's 10 s timeout).
SLOW_QUOTA_SECONDS = 6


def clock_environment(url: str, simulator: RunningSimulator, tmp_path: Path) -> dict[str, str]:
    return environment(
        tmp_path,
        **{
            **TEST_SETTINGS,
            "DATABASE_URL": url,
            "LINE_API_BASE_URL": simulator.base_url,
            # Quiet hours would make the outcome depend on the hour CI runs at.
            "KAIRAN_QUIET_HOURS": "00:00-00:00",
        },
    )


class Clocks:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.count = env, logs, 0
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> Path:
        self.count += 1
        log = self.logs / f"clock-{self.count}.log"
        with log.open("wb") as output:
            self.running.append(
                subprocess.Popen(
                    shlex.split(procfile()["clock"]),
                    env=self.env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
        return log

    def stop_all(self) -> list[int]:
        codes = []
        for process in self.running:
            process.send_signal(signal.SIGTERM)
            codes.append(process.wait(timeout=PATIENCE))
        self.running = []
        return codes


def wait_for(log: Path, text: str) -> None:
    def said() -> str:
        return log.read_text(encoding="utf-8", errors="replace")

    wait_until(lambda: text in said(), said)


def test_a_restarted_clock_sends_each_missed_reminder_once(
    own_database: str, simulator: RunningSimulator, tmp_path: Path
) -> None:
    sim = simulator.client
    user_ids = sim.create_users(4)
    app = create_app(make_settings(DATABASE_URL=own_database, LINE_API_BASE_URL=simulator.base_url))
    with app.app_context():
        session = db.session
        district = District(code="K1", name="時計校区", kana="とけいこうく")
        association = Association(district=district, code="K1A", name="時計町内会", kana="とけい")
        author = StaffMember(line_user_id="U" + "d" * 32)
        session.add_all([district, association, author])
        session.flush()
        session.execute(
            insert(Resident),
            [
                {
                    "line_user_id": u,
                    "association_id": association.id,
                    "registered_at": datetime(2026, 11, 1, tzinfo=UTC),
                }
                for u in user_ids
            ],
        )
        circular = Circular(
            author=author,
            title="資源回収のお知らせ",
            body="第2土曜日です。",
            targets=[CircularTarget(association=association)],
            urgent=False,
        )
        session.add(circular)
        session.flush()
        assert release(session, SystemClock(), circular, remaining_quota(line())).released
        session.commit()
        worker = Worker(db.sessionmaker, line(), SystemClock(), "test-worker")
        worker.drain()
        circular_id = circular.id

        def released_hours_ago(hours: float) -> None:
            session.execute(
                update(Circular)
                .where(Circular.id == circular_id)
                .values(released_at=datetime.now(UTC) - timedelta(hours=hours))
            )
            session.commit()

        def inboxes() -> list[int]:
            counts = sim.inbox_counts()
            return [counts.get(u, 0) for u in user_ids]

        clocks = Clocks(clock_environment(own_database, simulator, tmp_path), tmp_path)
        try:
            released_hours_ago(23)
            wait_for(clocks.start(), "tick: 0 released, 0 reminder(s)")
            assert clocks.stop_all() == [0]
            worker.drain()
            assert inboxes() == [1] * 4

            # Down for three hours, across the 24-hour reminder; then started twice by mistake.
            released_hours_ago(26)
            first, second = clocks.start(), clocks.start()
            wait_for(first, "started")
            wait_for(second, "started")
            reminded = "tick: 0 released, 1 reminder(s)"
            wait_until(
                lambda: reminded in first.read_text() + second.read_text(),
                "a clock to send the reminder",
            )
            time.sleep(1)
            assert (reminded in first.read_text()) != (reminded in second.read_text())
            worker.drain()
            assert inboxes() == [2] * 4
            assert clocks.stop_all() == [0, 0]

            # Restarted again: nothing is sent twice.
            wait_for(clocks.start(), "tick: 0 released, 0 reminder(s)")
            worker.drain()
            assert inboxes() == [2] * 4
            assert clocks.stop_all() == [0]
        finally:
            for process in clocks.running:
                process.kill()
                process.wait()
            session.close()
            db.engine.dispose()


def test_a_clock_stopped_while_it_starts_exits_cleanly(
    own_database: str, simulator: RunningSimulator, tmp_path: Path
) -> None:
    """A deployment may stop the clock the moment it started it. It holds SIGTERM from its
    command's first line, before its imports and its database check, so the stop is taken
    whenever it comes: signalled as soon as it holds it, it ends with 0, not killed by the
    signal and not with APScheduler's SchedulerNotRunningError."""
    clocks = Clocks(clock_environment(own_database, simulator, tmp_path), tmp_path)
    log = clocks.start()
    (clock,) = clocks.running
    try:
        wait_until(
            lambda: (
                holds_signal(clock.pid, signal.SIGTERM)
                or clock.poll() is not None
                or "started" in log.read_text(encoding="utf-8")
            ),
            "the clock to hold SIGTERM",
        )
        assert holds_signal(clock.pid, signal.SIGTERM), (
            "the clock started without holding SIGTERM: " + log.read_text(encoding="utf-8")
        )
        clock.send_signal(signal.SIGTERM)
        code = clock.wait(timeout=PATIENCE)
        said = log.read_text(encoding="utf-8")
        assert code == 0, said
        assert "Traceback" not in said and "SchedulerNotRunningError" not in said, said
        assert "stopped" in said, said
    finally:
        if clock.poll() is None:
            clock.kill()
            clock.wait()


def test_a_clock_stopped_mid_tick_finishes_the_tick_first(
    own_database: str, simulator: RunningSimulator, tmp_path: Path
) -> None:
    """SIGTERM while a tick releases a scheduled circular (LINE answers the quota slowly): the
    tick ends and says so, then the clock gives up its lease, says "stopped" and exits 0."""
    sim = simulator.client
    user_ids = sim.create_users(3)
    app = create_app(make_settings(DATABASE_URL=own_database, LINE_API_BASE_URL=simulator.base_url))
    with app.app_context():
        session = db.session
        district = District(code="S1", name="停止校区", kana="ていしこうく")
        association = Association(district=district, code="S1A", name="停止町内会", kana="ていし")
        author = StaffMember(line_user_id="U" + "e" * 32)
        session.add_all([district, association, author])
        session.flush()
        session.execute(
            insert(Resident),
            [
                {
                    "line_user_id": u,
                    "association_id": association.id,
                    "registered_at": datetime(2026, 11, 1, tzinfo=UTC),
                }
                for u in user_ids
            ],
        )
        session.add(
            Circular(
                author=author,
                title="断水のお知らせ",
                body="明日9時から12時まで断水します。",
                targets=[CircularTarget(association=association)],
                status=CircularStatus.scheduled,
                scheduled_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
        session.commit()
        session.close()
        db.engine.dispose()
    sim.set_faults(slow=1.0, slowSeconds=SLOW_QUOTA_SECONDS, paths=["/v2/bot/message/quota"])
    clocks = Clocks(clock_environment(own_database, simulator, tmp_path), tmp_path)
    engine = create_engine(own_database, poolclass=NullPool)

    def leased() -> bool:
        with engine.connect() as connection:
            return connection.scalar(select(SchedulerLease.holder)) is not None

    log = clocks.start()
    (clock,) = clocks.running
    try:
        # The lease is the tick's first step; the quota questions come next.
        wait_until(lambda: leased() or clock.poll() is not None, "the clock's first tick")
        clock.send_signal(signal.SIGTERM)
        code = clock.wait(timeout=PATIENCE)
        said = log.read_text(encoding="utf-8")
        assert code == 0, said
        assert "Traceback" not in said, said
        stopping, ticked, stopped = (
            said.find(text) for text in ("stopping", "tick: 1 released", " stopped")
        )
        # The stop came mid-tick; the tick ended before the clock did.
        assert 0 <= stopping < ticked < stopped, said
        assert not leased(), "a clean stop gives the lease up"
    finally:
        if clock.poll() is None:
            clock.kill()
            clock.wait()
        engine.dispose()
