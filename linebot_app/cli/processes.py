"""The Procfile's long-running processes: `kairan worker` (sends released circulars to LINE)
and `kairan scheduler` (the clock: scheduled circulars, reminders, digests)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from linebot_app.cli.common import CommandError, require_current_schema, stop_on_signal
from linebot_app.extensions import current_clock, db, line, settings, upload_dir
from linebot_app.startup import StartupError, wait_for_schema


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Send released circulars to LINE (the Procfile's `worker`). Stops cleanly on SIGTERM.

    Several may run on PostgreSQL; on SQLite a second one refuses to start.
    """
    stop = stop_on_signal()  # first: a stop during start-up is taken, not fatal
    from broadcasts.delivery.worker import (
        Worker,
        WorkerAlreadyRunning,
        single_worker_on_sqlite,
        worker_id,
    )

    try:
        # A database away at start-up is waited for, as the worker waits for it later.
        if not wait_for_schema(stop):
            return
    except StartupError as error:
        raise CommandError(str(error)) from None
    try:
        with single_worker_on_sqlite(db.engine) as sole:
            stale_after = timedelta(seconds=settings().KAIRAN_WORKER_STALE_SECONDS)
            worker = Worker(
                db.sessionmaker,
                line(),
                current_clock(),
                worker_id(),
                stale_after,
                public_url=settings().KAIRAN_PUBLIC_URL,
            )
            worker.run(stop, sole=sole, senders=settings().KAIRAN_WORKER_SENDERS)
    except WorkerAlreadyRunning:
        raise CommandError(
            "SQLite では配信ワーカーは1つしか動かせません（すでに動いています）"
            " / Only one worker may run on SQLite, and one is already running"
        ) from None


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Release scheduled circulars, send reminders and officers' digests (the Procfile's
    `clock`). A second one started by mistake waits: a database lease decides who ticks.
    Stops cleanly on SIGTERM, after the tick under way."""
    stop = stop_on_signal()  # first: a stop during start-up is taken, not fatal
    from broadcasts.delivery.worker import worker_id
    from broadcasts.schedule import process
    from broadcasts.schedule.jobs import ClockSettings, Clockwork
    from broadcasts.schedule.rules import QuietHours

    require_current_schema()
    configured = settings()
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        current_clock(),
        ClockSettings(
            quiet_hours=QuietHours.parse(configured.KAIRAN_QUIET_HOURS),
            dashboard_url=f"{configured.KAIRAN_PUBLIC_URL}/dashboard/",
            upload_dir=upload_dir(),
            retention=timedelta(days=configured.KAIRAN_RETENTION_DAYS),
        ),
        holder=worker_id(),
    )
    process.run(clockwork, stop)
