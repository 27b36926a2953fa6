"""After a crash: workers killed while they wait on LINE, and LINE failing meanwhile; once both
are healthy again, the batches left behind go out within seconds, not minutes. And no crash at
all: a worker stopped while it starts, or while it waits on LINE, ends cleanly."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

from models import BatchStatus, Circular, CircularStatus, DeliveryBatch
from simulator.testing import RunningSimulator
from tests.helpers.chaos import Workers, prepare
from tests.helpers.databases import fresh_schema, postgres_url
from tests.helpers.processes import environment, holds_signal
from tests.helpers.settings import TEST_SETTINGS
from tests.helpers.waiting import PATIENCE, wait_until

RESIDENTS = 2000  # four batches
KILLS = 8
# Once LINE answers again and a worker runs: a dead worker's claim is taken back and sent
# (KAIRAN_WORKER_STALE_SECONDS' default, 10 s, plus a few seconds), every batch at once.
TAIL = 30.0


@contextlib.contextmanager
def database(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def in_flight(connection: Connection, pid: int) -> int:
    """Batches the worker process `pid` holds (its ids are host:pid:…)."""
    count = connection.scalar(
        select(func.count())
        .select_from(DeliveryBatch)
        .where(
            DeliveryBatch.status == BatchStatus.in_flight,
            DeliveryBatch.worker_id.like(f"%:{pid}:%"),
        )
    )
    connection.rollback()
    return int(count or 0)


def circular_status(connection: Connection, circular_id: int) -> CircularStatus:
    status = connection.scalar(select(Circular.status).where(Circular.id == circular_id))
    connection.rollback()
    assert status is not None
    return status


def test_batches_left_by_killed_workers_go_out_within_seconds_once_all_is_well(
    own_database: str, chaos_simulator: RunningSimulator, tmp_path: Path
) -> None:
    (circular_id,), targeted, _ = prepare(own_database, chaos_simulator, residents=RESIDENTS)
    sim = chaos_simulator.client
    # Slow answers, so that each kill lands while a worker waits on LINE; and failures, each
    # of which used to wait longer the more often its batch had been claimed.
    sim.set_faults(slow=0.5, slowSeconds=4, error500=0.3, paths=["/v2/bot/message/multicast"])
    env = environment(
        tmp_path,
        **{
            **TEST_SETTINGS,
            "DATABASE_URL": own_database,
            "LINE_API_BASE_URL": chaos_simulator.base_url,
        },
    )
    workers = Workers(env, tmp_path)
    try:
        with database(own_database) as connection:
            running = False
            for _ in range(KILLS):
                worker = workers.start()
                # Its batch in flight, to kill it there; unless the batches that fault spared
                # have all gone out already (a fifth of the answers are plain 200s).
                wait_until(
                    lambda pid=worker.pid: (
                        in_flight(connection, pid) > 0
                        or circular_status(connection, circular_id) is CircularStatus.sent
                    ),
                    "its batch in flight, or the circular sent",
                )
                running = circular_status(connection, circular_id) is CircularStatus.sent
                if running:
                    break
                workers.kill(worker)
            sim.clear_faults()
            if not running:
                workers.start()
            healthy = time.monotonic()
            wait_until(
                lambda: circular_status(connection, circular_id) is CircularStatus.sent,
                "the circular sent",
            )
            tail = time.monotonic() - healthy
        assert workers.stop_all() == [0]
    finally:
        for process in workers.running:
            process.kill()
            process.wait()
    assert tail < TAIL, f"the last batches went out {tail:.0f} s after LINE and workers recovered"
    counts = sim.inbox_counts()
    assert all(counts.get(user_id, 0) == 1 for user_id in targeted)


def test_a_worker_whose_database_does_not_answer_at_start_waits_for_it(
    chaos_simulator: RunningSimulator, tmp_path: Path
) -> None:
    shared = make_url(postgres_url())
    template, name = f"{shared.database}_ready", f"{shared.database}_late"
    admin = create_engine(shared, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def run(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    for database_name in (name, template):
        run(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{template}"')
    fresh_schema(shared.set(database=template).render_as_string(hide_password=False))
    url = shared.set(database=name).render_as_string(hide_password=False)
    env = environment(
        tmp_path,
        **{**TEST_SETTINGS, "DATABASE_URL": url, "LINE_API_BASE_URL": chaos_simulator.base_url},
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            ["kairan", "worker"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        # Its database is not there yet (a restart, a failover): it says so and keeps trying.
        wait_until(
            lambda: log.read_text(encoding="utf-8").count("trying again") >= 2,
            "the worker trying again",
        )
        assert worker.poll() is None, log.read_text(encoding="utf-8")
        run(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        wait_until(lambda: " started" in log.read_text("utf-8"), "the worker started")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for database_name in (name, template):
            run(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        admin.dispose()


def worker_environment(url: str, simulator: RunningSimulator, tmp_path: Path) -> dict[str, str]:
    return environment(
        tmp_path,
        **{**TEST_SETTINGS, "DATABASE_URL": url, "LINE_API_BASE_URL": simulator.base_url},
    )


def test_a_worker_stopped_while_it_starts_exits_cleanly(
    own_database: str, chaos_simulator: RunningSimulator, tmp_path: Path
) -> None:
    """It holds SIGTERM from its command's first line: signalled as soon as it does, before its
    imports and its database check are done, it ends with 0 instead of being killed."""
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            ["kairan", "worker"],
            env=worker_environment(own_database, chaos_simulator, tmp_path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: (
                holds_signal(worker.pid, signal.SIGTERM)
                or worker.poll() is not None
                or b" started" in log.read_bytes()
            ),
            "the worker to hold SIGTERM",
        )
        assert holds_signal(worker.pid, signal.SIGTERM), log.read_text(encoding="utf-8")
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=PATIENCE)
        said = log.read_text(encoding="utf-8")
        assert code == 0, said
        assert "Traceback" not in said, said
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_a_worker_stopped_mid_send_records_its_batch_and_exits_cleanly(
    own_database: str, chaos_simulator: RunningSimulator, tmp_path: Path
) -> None:
    _, targeted, _ = prepare(own_database, chaos_simulator, residents=600)
    sim = chaos_simulator.client
    # LINE answers slowly, so the stop comes while a sender waits on it.
    sim.set_faults(slow=1.0, slowSeconds=4, paths=["/v2/bot/message/multicast"])
    workers = Workers(worker_environment(own_database, chaos_simulator, tmp_path), tmp_path)
    try:
        with database(own_database) as connection:
            worker = workers.start()
            wait_until(lambda: in_flight(connection, worker.pid) > 0, "a batch in flight")
            assert workers.stop_all() == [0]
            # What LINE answered was recorded: nothing is left in flight for recovery.
            assert in_flight(connection, worker.pid) == 0
    finally:
        for process in workers.running:
            process.kill()
            process.wait()
    said = (tmp_path / "worker-1.log").read_text(encoding="utf-8")
    assert "Traceback" not in said, said
    assert "stopped" in said, said
    counts = sim.inbox_counts()
    assert any(counts.get(user_id, 0) == 1 for user_id in targeted)
