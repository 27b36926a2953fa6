"""The clock process: APScheduler drives the ticks; what is due lives in the database."""

from __future__ import annotations

import logging
import signal
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from broadcasts.core.clock import TOKYO
from broadcasts.schedule.jobs import Clockwork

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def run(clockwork: Clockwork, tick_seconds: int = TICK_SECONDS) -> None:
    """Tick until SIGTERM or SIGINT."""
    scheduler = BlockingScheduler(timezone=TOKYO)
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

    def stop(_signum: int, _frame: object) -> None:
        # APScheduler marks a run done when it starts, so nothing depends on this tick ending.
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock %s started, ticking every %d s", clockwork.holder, tick_seconds)
    scheduler.start()
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
