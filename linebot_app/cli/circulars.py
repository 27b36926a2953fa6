"""`kairan circulars …` (look at, send, cancel and print circulars) and `kairan templates …`
(the city's starter templates)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from broadcasts.core.clock import TOKYO
from broadcasts.delivery import reports
from broadcasts.residents import links
from linebot_app.cli.common import CommandError, remaining_quota_or_fail, require_current_schema
from linebot_app.extensions import clock, db, settings
from models import Circular, CircularStatus


@click.group("circulars", cls=AppGroup)
def circulars_group() -> None:
    """Look at and send circulars."""


@circulars_group.command("show")
@click.argument("circular_id", type=int)
def circulars_show(circular_id: int) -> None:
    """Print a circular's status and delivery counts."""

    require_current_schema()
    if db.session.get(Circular, circular_id) is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    shown = reports.progress(db.session, circular_id)
    click.echo(f"circular {circular_id}: {shown.status.value}")
    if shown.hold_reason:
        click.echo(f"  保留中 / on hold: {shown.hold_reason}")
    click.echo("  deliveries: " + ", ".join(f"{k} {v}" for k, v in shown.deliveries.items()))
    click.echo("  batches:    " + ", ".join(f"{k} {v}" for k, v in shown.batches.items()))


@circulars_group.command("send")
@click.argument("circular_id", type=int)
def circulars_send(circular_id: int) -> None:
    """Release a circular now (or resume one paused, its card or a reminder, for quota); the
    worker sends it."""
    from broadcasts.circulars.release import release
    from broadcasts.schedule import holds
    from broadcasts.schedule.rules import QuietHours

    require_current_schema()
    remaining = remaining_quota_or_fail()
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    # Held for quota (its card, or a follow-up after it was sent): resume, as 「再開」 does.
    # Anything else is released; release says so if it has been already, by this command run
    # twice or by the clock.
    started = circular.status in (CircularStatus.sending, CircularStatus.sent)
    if started and (circular.hold_reason is not None or holds.open_holds(db.session, circular.id)):
        quiet = QuietHours.parse(settings().KAIRAN_QUIET_HOURS)
        reason = holds.resume(db.session, clock, None, circular, remaining, quiet)
        db.session.commit()
        if reason:
            raise CommandError(reason)
        click.echo(f"circular {circular_id}: resumed")
        return
    result = release(db.session, clock, circular, remaining)
    db.session.commit()
    if not result.released:
        raise CommandError(f"送信しませんでした / Not sent: {result.reason}")
    click.echo(
        f"circular {circular_id}: released to {result.recipients} residents"
        f" in {result.batches} batch(es)"
    )


@circulars_group.command("list")
@click.option(
    "--status",
    type=click.Choice([status.value for status in CircularStatus]),
    help="Only circulars in this state.",
)
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
def circulars_list(status: str | None, limit: int) -> None:
    """List the newest circulars: id, status, dates (Japan time), deliveries sent, title."""

    require_current_schema()
    wanted = CircularStatus(status) if status else None
    for row in reports.list_circulars(db.session, wanted, limit):
        circular = row.circular
        when = circular.released_at or circular.scheduled_at or circular.created_at
        shown = when.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        fix = f" 訂正→{circular.corrects_id}" if circular.corrects_id else ""
        click.echo(
            f"{circular.id}\t{circular.status.value}\t{shown}\t"
            f"{row.sent}/{row.deliveries}\t{circular.title}{fix}"
        )


@circulars_group.command("cancel")
@click.argument("circular_id", type=int)
def circulars_cancel(circular_id: int) -> None:
    """Cancel a draft or scheduled circular (a released one needs a correction instead)."""
    from broadcasts.circulars import lifecycle
    from broadcasts.composing import drafts

    require_current_schema()
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    try:
        lifecycle.cancel_by_operator(db.session, clock, circular)
    except drafts.CompositionError as error:
        raise CommandError(
            f"取り消せません / Cannot cancel circular {circular_id}: {error.message}"
        ) from None
    db.session.commit()
    click.echo(f"circular {circular_id}: cancelled")


@circulars_group.command("print-link")
@click.argument("circular_id", type=int)
def circulars_print_link(circular_id: int) -> None:
    """Print a link (valid 7 days) to the circular's A4 print view with its QR code and the
    paper copies each association needs."""
    require_current_schema()
    if db.session.get(Circular, circular_id) is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    configured = settings()
    token = links.print_token(configured.SECRET_KEY.get_secret_value(), circular_id)
    click.echo(f"{configured.KAIRAN_PUBLIC_URL}/print/link/{token}")


@click.group("templates", cls=AppGroup)
def templates_group() -> None:
    """Circular templates (ひな形)."""


@templates_group.command("load")
def templates_load() -> None:
    """Load the city's starter templates (again: only the missing ones are added)."""
    from broadcasts.composing import templates

    require_current_schema()
    added = templates.load_starter_set(db.session)
    db.session.commit()
    click.echo(f"ひな形を {added} 件追加しました / {added} template(s) added")
