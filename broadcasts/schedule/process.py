"""The clock process: APScheduler drives the ticks; what is due lives in the database."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from broadcasts.core.clock import TOKYO
from broadcasts.schedule.jobs import Clockwork

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def run(clockwork: Clockwork, stop: threading.Event, tick_seconds: int = TICK_SECONDS) -> None:
    """Tick in APScheduler's threads until `stop` is set (SIGTERM or SIGINT); the tick under way
    then finishes before the lease is given up."""
    scheduler = BackgroundScheduler(timezone=TOKYO)
    scheduler.add_job(
        lambda: tick_safely(clockwork),
        IntervalTrigger(seconds=tick_seconds, timezone=TOKYO),
        id="tick",
        # A backlog of missed ticks (a suspended machine) runs once: one tick catches up on
        # everything that is due anyway.
        coalesce=True,
        # Ticks never overlap: a slow tick delays the next instead of racing it.
        max_instances=1,
        # A late tick still runs, however late; dropping it would only delay the work.
        misfire_grace_time=None,
        next_run_time=datetime.now(TOKYO),
    )
    scheduler.start()
    log.info("clock %s started, ticking every %d s", clockwork.holder, tick_seconds)
    stop.wait()
    log.info("clock %s stopping: a tick under way finishes first", clockwork.holder)
    # Out of the job store first: APScheduler's thread could otherwise hand a tick falling due
    # now to the executor after it has shut down (an error with a traceback in the log).
    scheduler.remove_job("tick")
    scheduler.shutdown(wait=True)
    # After the tick: giving the lease up mid-tick would let another clock tick beside it.
    clockwork.step_down()
    log.info("clock %s stopped", clockwork.holder)


def tick_safely(clockwork: Clockwork) -> None:
    """A tick that fails (the database restarting) is logged; the next one catches up."""
    try:
        report = clockwork.tick()
    except SQLAlchemyError as error:
        log.warning("tick failed (%s); the next tick catches up", type(error).__name__)
        return
    if report.ticked:
        log.info(
            "tick: %d released, %d reminder(s), %d digest(s)",
            len(report.released),
            len(report.reminders),
            report.digests,
        )
