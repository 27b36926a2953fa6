"""What the `kairan` commands share: the one-line error, the schema check every command that
reads the database makes first, and LINE's remaining quota asked before any transaction."""

from __future__ import annotations

import click
import urllib3

from broadcasts.delivery.line import remaining_quota
from linebot_app.extensions import line
from linebot_app.startup import StartupError, check_schema


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
