"""The delivery worker: claims batches, sends them to LINE, records what LINE said.

It owns its transactions (it is an edge, like a view): one to claim, none while LINE is called,
one to record. See broadcasts/delivery/steps.py for the steps and why a crash anywhere is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from broadcasts.core.clock import Clock
from broadcasts.delivery import line as line_api
from broadcasts.delivery import messages, reports, steps
from broadcasts.delivery.line import Line
from broadcasts.delivery.retry import Verdict

log = logging.getLogger(__name__)

IDLE_WAIT = 1.0  # seconds between looks for work when there is none, and between heartbeats
RECOVER_EVERY = timedelta(seconds=2)
DATABASE_RETRY_WAIT = 2.0
# A claim is kept fresh by the heartbeat for at most this long: a send is bounded by its
# timeout, so a sender still holding one after this is stuck, and its batch goes to another.
LONGEST_HOLD = 120.0


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
    lock_path = database_file(engine.url.database).with_suffix(".worker.lock")
    handle: IO[str] = lock_path.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerAlreadyRunning(str(lock_path)) from None
        yield True
    finally:
        handle.close()


def database_file(database: str) -> Path:
    """The file a SQLite URL's database names, however it is written: relative, through a link,
    or as SQLite's `file:` URI (`sqlite:///file:…?uri=true`)."""
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database).resolve()


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        line: Line,
        clock: Clock,
        name: str,
        stale_after: timedelta = steps.STALE_AFTER,
        public_url: str | None = None,
    ) -> None:
        self.sessions = sessions
        # public_url: KAIRAN_PUBLIC_URL, for the card's hero photo (None: cards without a photo).
        self.messages = messages.MessageCache(public_url)
        self.line = line
        self.clock = clock
        self.name = name
        self.stale_after = stale_after
        self._last_recovery: datetime | None = None
        self._write_lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        # The sender threads by name, and the batch each holds (with when it took it).
        self._senders: dict[str, threading.Thread] = {}
        self._holding: dict[str, tuple[int, float]] = {}

    def run(self, stop: threading.Event, sole: bool = False, senders: int = 1) -> None:
        """Until `stop` is set; each batch in hand is finished first (SIGTERM sets `stop`).

        `sole`: no other worker can be running (SQLite's lock), so every claim left in flight
        belongs to a dead worker and is taken back at once instead of after `stale_after`; and
        claims are taken one at a time, since SQLite has no row locks to keep senders apart.
        `senders`: threads sending at once. A multicast waits on the network far longer than on
        the database, so a few senders reach LINE's rate limit where one cannot. Once a second
        the loop restarts any sender that died, beats (`reports.heartbeat`), takes back stale
        claims and finishes circulars.
        """
        log.info("worker %s started with %d sender(s)", self.name, senders)
        if sole:
            self._write_lock = threading.Lock()
            while not stop.is_set() and self._survive(stop, self.recover_all) is not True:
                pass
        for n in range(senders):
            self._start_sender(stop, f"{self.name}/{n}")
        while not stop.is_set():
            self._restart_dead_senders(stop)
            self._survive(stop, self.beat)
            self._survive(stop, self.recover_if_due)
            self._survive(stop, self.finish_all_done)
            stop.wait(IDLE_WAIT)
        for thread in self._senders.values():
            thread.join()
        self._survive(stop, self.leave)
        log.info("worker %s stopped", self.name)

    def _start_sender(self, stop: threading.Event, sender: str) -> None:
        thread = threading.Thread(target=self._send_until, args=(stop, sender), name=sender)
        self._senders[sender] = thread
        thread.start()

    def _restart_dead_senders(self, stop: threading.Event) -> None:
        for sender, thread in list(self._senders.items()):
            if not thread.is_alive() and not stop.is_set():
                log.warning("worker %s: sender %s restarted", self.name, sender)
                self._start_sender(stop, sender)

    def _send_until(self, stop: threading.Event, sender: str) -> None:
        """Send until `stop`; a sender that meets anything but a lost database gives its batch
        back and ends, and the worker's loop starts another in its place."""
        while not stop.is_set():
            try:
                worked = self._survive(stop, lambda: self.run_once(sender))
            except Exception as error:  # any fault: a sender must not stop silently
                self._give_back(sender, error)
                return
            # After a lost database the claim, if any, stays in flight until it goes stale.
            self._holding.pop(sender, None)
            if not worked:
                stop.wait(IDLE_WAIT)

    def _give_back(self, sender: str, error: Exception) -> None:
        held = self._holding.pop(sender, None)
        # The exception's type and where it was raised, not its text: a database error quotes
        # the statement's parameters, LINE user ids among them.
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        reason = f"{type(error).__name__} at {where}"
        if held is None:
            log.error("worker %s: sender %s failed (%s)", self.name, sender, reason)
            return
        batch_id = held[0]
        log.error(
            "worker %s: sender %s failed on batch %d (%s); it goes back to pending",
            self.name,
            sender,
            batch_id,
            reason,
        )
        try:
            with self._write_lock, self.sessions() as session:
                steps.give_back(session, self.clock, batch_id, sender, reason)
                session.commit()
        except SQLAlchemyError as failure:
            log.warning(
                "worker %s: batch %d left to recovery (%s)",
                self.name,
                batch_id,
                type(failure).__name__,
            )

    def _survive(self, stop: threading.Event, step: Callable[[], bool | None]) -> bool | None:
        try:
            return step()
        except OperationalError as error:
            # The database went away (restart, failover): the pool reconnects on next use.
            log.warning("worker %s: database unavailable (%s)", self.name, type(error).__name__)
            stop.wait(DATABASE_RETRY_WAIT)
            return False

    def beat(self) -> None:
        """Say this worker and its senders are alive, and keep their claims fresh."""
        soon_enough = time.monotonic() - LONGEST_HOLD
        claims = {
            sender: batch_id
            for sender, (batch_id, since) in list(self._holding.items())
            if since > soon_enough
        }
        alive = sum(thread.is_alive() for thread in self._senders.values())
        with self._write_lock, self.sessions() as session:
            reports.heartbeat(session, self.clock, self.name, len(self._senders), alive, claims)
            session.commit()

    def leave(self) -> None:
        with self._write_lock, self.sessions() as session:
            reports.leave(session, self.name)
            session.commit()

    def recover_all(self) -> bool:
        self.recover(timedelta(0))
        return True

    def recover_if_due(self) -> None:
        now = self.clock.now()
        if self._last_recovery is not None and now - self._last_recovery < RECOVER_EVERY:
            return
        self.recover(self.stale_after)
        self._last_recovery = now

    def recover(self, stale_after: timedelta) -> None:
        with self.sessions() as session:
            recovered = steps.recover_stale(session, self.clock, stale_after)
            session.commit()
        if recovered:
            log.warning("worker %s: %d stale batch(es) back to pending", self.name, recovered)

    def finish_all_done(self) -> None:
        """Circulars whose last batches closed without a call (nobody left to reach) or whose
        worker stopped between recording its batch and marking the circular sent."""
        with self._write_lock, self.sessions() as session:
            finished = steps.finish_all_done(session, self.clock)
            session.commit()
        if finished:
            log.info("worker %s: %d circular(s) sent", self.name, finished)

    def run_once(self, sender: str | None = None) -> bool:
        """Claim, send and record one batch; False when nothing was due."""
        with self._write_lock, self.sessions() as session:
            claim = steps.claim_next(session, self.clock, sender or self.name, self.messages)
            # Committed before the call: a crash from here on leaves a recoverable claim.
            session.commit()
        if claim is None:
            return False
        self._holding[claim.worker_id] = (claim.batch_id, time.monotonic())
        outcome = line_api.multicast(
            self.line, claim.user_ids, claim.messages, claim.retry_key, claim.unit
        )
        answered_at = self.clock.now()
        # SQLite: one write at a time in this process, or a sender whose read snapshot went stale
        # would be refused the write (SQLITE_BUSY_SNAPSHOT) and leave its batch to recovery.
        with self._write_lock, self.sessions() as session:
            decision = steps.record(session, self.clock, claim, outcome, answered_at=answered_at)
            session.commit()
        del self._holding[claim.worker_id]
        if decision is not None and decision.verdict in (Verdict.accepted, Verdict.failed):
            # The batch closed: after the record's commit, see steps.finish_if_done.
            with self._write_lock, self.sessions() as session:
                steps.finish_if_done(session, self.clock, claim.circular_id)
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
