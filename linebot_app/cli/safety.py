"""`kairan safety start`: 安否確認 from the command line (see docs/safety.md)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from linebot_app.cli.common import CommandError, remaining_quota_or_fail, require_current_schema
from linebot_app.extensions import clock, db, settings


@click.group("safety", cls=AppGroup)
def safety_group() -> None:
    """安否確認: ask an area 「ご無事ですか？」 (see docs/safety.md)."""


@safety_group.command("start")
@click.option("--district", "district_code", help="District code: the whole district.")
@click.option("--association", "association_code", help="Association code: one association.")
@click.option(
    "--author", "author", required=True, help="LINE user id of the admin or promoter asking."
)
@click.option("--message", default=None, help="Text of the check (default: the standard one).")
def safety_start(
    district_code: str | None, association_code: str | None, author: str, message: str | None
) -> None:
    """Send a safety check now, even in quiet hours; reminders follow every 30 minutes."""

    from broadcasts.composing import drafts
    from broadcasts.safety import checks
    from broadcasts.staff import logins

    require_current_schema()
    remaining = remaining_quota_or_fail()
    try:
        target = checks.area_target(db.session, district_code, association_code)
        member = logins.staff_member_for(db.session, author)
        started = checks.start(db.session, clock, member, target, remaining, message)
    except drafts.CompositionError as error:
        raise CommandError(f"送信しませんでした / Not sent: {error.message}") from None
    if not started.release.released:
        db.session.rollback()
        raise CommandError(f"送信しませんでした / Not sent: {started.release.reason}")
    circular_id = started.circular.id
    db.session.commit()
    click.echo(
        f"safety check {circular_id}: released to {started.release.recipients} residents;"
        f" {settings().KAIRAN_PUBLIC_URL}/dashboard/safety/{circular_id}"
    )
