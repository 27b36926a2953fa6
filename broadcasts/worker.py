"""The delivery worker: claims batches, sends them to LINE, records what LINE said.

It owns its transactions (it is an edge, like a view): one to claim, none while LINE is called,
one to record. See broadcasts/delivery.py for the steps and why a crash anywhere is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from broadcasts import delivery
from broadcasts import line as line_api
from broadcasts.clock import Clock
from broadcasts.line import Line
from broadcasts.retry import Verdict

log = logging.getLogger(__name__)

IDLE_WAIT = 1.0  # seconds between looks for work when there is none
RECOVER_EVERY = timedelta(seconds=15)
DATABASE_RETRY_WAIT = 2.0


class WorkerAlreadyRunning(Exception):
    """SQLite takes one writer at a time and has no row locks: one worker per database."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def single_worker_on_sqlite(engine: Engine) -> Iterator[bool]:
    """On SQLite, hold an exclusive lock beside the database file while the worker runs, and
    yield True (this worker is the only one). The OS releases the lock when the process dies,
    however it dies, so a restart never waits for a lease."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        yield False
        return
    lock_path = Path(engine.url.database).with_suffix(".worker.lock")
    handle: IO[str] = lock_path.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerAlreadyRunning(str(lock_path)) from None
        yield True
    finally:
        handle.close()


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        line: Line,
        clock: Clock,
        name: str,
        stale_after: timedelta = delivery.STALE_AFTER,
        public_url: str | None = None,
    ) -> None:
        self.sessions = sessions
        # public_url: KAIRAN_PUBLIC_URL, for the card's hero photo (None: cards without a photo).
        self.messages = delivery.MessageCache(public_url)
        self.line = line
        self.clock = clock
        self.name = name
        self.stale_after = stale_after
        self._last_recovery: datetime | None = None
        self._write_lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()

    def run(self, stop: threading.Event, sole: bool = False, senders: int = 1) -> None:
        """Until `stop` is set; each batch in hand is finished first (SIGTERM sets `stop`).

        `sole`: no other worker can be running (SQLite's lock), so every claim left in flight
        belongs to a dead worker and is taken back at once instead of after `stale_after`; and
        claims are taken one at a time, since SQLite has no row locks to keep senders apart.
        `senders`: threads sending at once. A multicast waits on the network far longer than on
        the database, so a few senders reach LINE's rate limit where one cannot.
        """
        log.info("worker %s started with %d sender(s)", self.name, senders)
        if sole:
            self.recover(timedelta(0))
            self._write_lock = threading.Lock()
        threads = [
            threading.Thread(target=self._send_until, args=(stop, f"{self.name}/{n}"))
            for n in range(senders)
        ]
        for thread in threads:
            thread.start()
        while not stop.wait(IDLE_WAIT):
            self._survive(stop, self.recover_if_due)
            self._survive(stop, self.finish_all_done)
        for thread in threads:
            thread.join()
        log.info("worker %s stopped", self.name)

    def _send_until(self, stop: threading.Event, sender: str) -> None:
        while not stop.is_set():
            worked = self._survive(stop, lambda: self.run_once(sender))
            if not worked:
                stop.wait(IDLE_WAIT)

    def _survive(self, stop: threading.Event, step: Callable[[], bool | None]) -> bool | None:
        try:
            return step()
        except OperationalError as error:
            # The database went away (restart, failover): the pool reconnects on next use.
            log.warning("worker %s: database unavailable (%s)", self.name, type(error).__name__)
            stop.wait(DATABASE_RETRY_WAIT)
            return False

    def recover_if_due(self) -> None:
        now = self.clock.now()
        if self._last_recovery is not None and now - self._last_recovery < RECOVER_EVERY:
            return
        self.recover(self.stale_after)
        self._last_recovery = now

    def recover(self, stale_after: timedelta) -> None:
        with self.sessions() as session:
            recovered = delivery.recover_stale(session, self.clock, stale_after)
            session.commit()
        if recovered:
            log.warning("worker %s: %d stale batch(es) back to pending", self.name, recovered)

    def finish_all_done(self) -> None:
        """Circulars whose last batches closed without a call (nobody left to reach) or whose
        worker stopped between recording its batch and marking the circular sent."""
        with self._write_lock, self.sessions() as session:
            finished = delivery.finish_all_done(session, self.clock)
            session.commit()
        if finished:
            log.info("worker %s: %d circular(s) sent", self.name, finished)

    def run_once(self, sender: str | None = None) -> bool:
        """Claim, send and record one batch; False when nothing was due."""
        with self._write_lock, self.sessions() as session:
            claim = delivery.claim_next(session, self.clock, sender or self.name, self.messages)
            # Committed before the call: a crash from here on leaves a recoverable claim.
            session.commit()
        if claim is None:
            return False
        outcome = line_api.multicast(
            self.line, claim.user_ids, claim.messages, claim.retry_key, claim.unit
        )
        # SQLite: one write at a time in this process, or a sender whose read snapshot went stale
        # would be refused the write (SQLITE_BUSY_SNAPSHOT) and leave its batch to recovery.
        with self._write_lock, self.sessions() as session:
            decision = delivery.record(session, self.clock, claim, outcome)
            session.commit()
        if decision is not None and decision.verdict in (Verdict.accepted, Verdict.failed):
            # The batch closed: after the record's commit, see delivery.finish_if_done.
            with self._write_lock, self.sessions() as session:
                delivery.finish_if_done(session, self.clock, claim.circular_id)
                session.commit()
        log.info(
            "batch %d of circular %d: %s -> %s (request %s)",
            claim.batch_id,
            claim.circular_id,
            outcome.result.value,
            decision.verdict.value if decision else "claim lost",
            outcome.request_id,
        )
        return True

    def drain(self) -> int:
        """Send until nothing is due now (tests, the demo); returns how many batches."""
        count = 0
        while self.run_once():
            count += 1
        self.finish_all_done()
        return count
