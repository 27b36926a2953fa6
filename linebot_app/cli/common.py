"""What the `kairan` commands share: the one-line error, the schema check every command that
reads the database makes first, LINE's remaining quota asked before any transaction, and the
stop signals of the long-running processes."""

from __future__ import annotations

import signal
import threading

import click
import urllib3

from broadcasts.delivery.line import remaining_quota
from linebot_app.extensions import line
from linebot_app.startup import StartupError, check_schema

# SIGTERM from a deployment (systemd, honcho, a container runtime), SIGINT from Ctrl-C.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def stop_on_signal() -> threading.Event:
    """An Event set once SIGTERM or SIGINT comes; a long-running command calls it first.

    The signals are blocked in this thread and so in every thread started afterwards, which
    inherit the mask, and one small thread takes them with sigwait. A stop that comes during the
    imports or the database check therefore waits until the process can act on it instead of
    killing it, and the Event is set from an ordinary thread: a Python signal handler runs in
    the main thread between two bytecodes, where setting an Event can wait forever for a lock
    the interrupted code holds.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    stop = threading.Event()

    def take_the_signal() -> None:
        signal.sigwait(STOP_SIGNALS)
        stop.set()

    threading.Thread(target=take_the_signal, name="stop-signal", daemon=True).start()
    return stop


class CommandError(click.ClickException):
    """Printed as the one line it carries, with nothing in front."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


def require_current_schema() -> None:
    """Commands refuse to run on an old schema rather than fail on the first query."""
    try:
        check_schema()
    except StartupError as error:
        raise CommandError(str(error)) from None


def remaining_quota_or_fail() -> int | None:
    """This month's messages left, asked before any transaction: no LINE call while the
    database is being written."""
    from linebot.v3.messaging import ApiException

    try:
        return remaining_quota(line())
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        raise CommandError(
            f"LINE に問い合わせできません / Cannot reach LINE ({type(error).__name__})"
        ) from None
