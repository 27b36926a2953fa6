"""`kairan staff …`: invite codes for roles, and the dashboard login link of the first admin."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from broadcasts.core.clock import TOKYO
from broadcasts.staff import audit, logins, roster, terms
from broadcasts.staff import invites as staff_invites
from linebot_app.cli.common import CommandError, require_current_schema
from linebot_app.dashboard.links import login_url
from linebot_app.extensions import clock, db, settings
from models import Role


@click.group("staff", cls=AppGroup)
def staff_group() -> None:
    """Appoint admins, ICT promoters and association officers."""


@staff_group.command("invite")
@click.option(
    "--role", required=True, type=click.Choice([role.value for role in Role]), help="The role."
)
@click.option("--district", "district_code", help="District code (promoters).")
@click.option("--association", "association_code", help="Association code (officers, 班長).")
@click.option("--group", "group_name", help="Group name in the association (班長).")
@click.option(
    "--term-end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the term (YYYY-MM-DD, Japan): the role ends by itself after it.",
)
def staff_invite(
    role: str,
    district_code: str | None,
    association_code: str | None,
    group_name: str | None,
    term_end: datetime | None,
) -> None:
    """Print a one-time code, valid 7 days. The staff member sends it to the bot in LINE and
    their LINE account gets the role."""
    require_current_schema()
    try:
        invite = staff_invites.create_invite(
            db.session,
            clock,
            Role(role),
            district_code,
            association_code,
            group_name,
            role_ends_at=terms.ends_at(term_end.date() if term_end else None),
        )
    except staff_invites.InviteError as error:
        raise CommandError(str(error)) from None
    db.session.commit()
    expires = invite.expires_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    click.echo(invite.code)
    click.echo(
        f"{expires}（日本時間）まで1回だけ使えます。本人が LINE でボットに送ります。"
        f" / One use, valid until {expires} (Japan time): the staff member sends it to the bot."
    )


@staff_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--letters",
    "letters_file",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the invite letters (PDF, one A4 page per person).",
)
def staff_import(csv_file: Path, letters_file: Path) -> None:
    """Invite everyone in a staff CSV (role, area code, 班, name, term end; UTF-8 or Shift_JIS
    as Excel saves it) and write one invite letter per person. A file with any bad row invites
    nobody and names every bad line."""
    require_current_schema()
    add_friend_url = settings().add_friend_url
    if add_friend_url is None:
        raise CommandError(
            "KAIRAN_ADD_FRIEND_URL が未設定です（招待状の QR コードに使います）"
            " / KAIRAN_ADD_FRIEND_URL is not set: the letters need it for their QR code"
        )
    try:
        rows = roster.read(db.session, clock, None, csv_file)
    except roster.StaffFileError as error:
        db.session.rollback()
        raise CommandError("\n".join(error.problems)) from None
    issued = roster.invite_all(db.session, clock, None, rows)
    # The letters' PDF and QR code libraries are loaded by the one command that draws them.
    from broadcasts.staff import letters

    pdf = letters.render(issued, add_friend_url)
    audit.record(db.session, clock, None, "staff.imported", "staff_invite", None, count=len(issued))
    db.session.commit()
    letters_file.write_bytes(pdf)
    click.echo(
        f"{len(issued)}人を招待し、招待状を {letters_file} に書きました。"
        f" / Invited {len(issued)}; letters written to {letters_file}."
    )


@staff_group.command("login-link")
@click.argument("line_user_id")
def staff_login_link(line_user_id: str) -> None:
    """Print a single-use dashboard login link (10 minutes) for a staff member's LINE account:
    how the first admin logs in. Everyone else sends 「ログイン」 to the bot."""
    require_current_schema()
    member = logins.staff_with_roles(db.session, line_user_id, clock.now())
    if member is None:
        raise CommandError(
            "この LINE アカウントには役割がありません（先に kairan staff invite）"
            " / This LINE account holds no role: invite it first (kairan staff invite)"
        )
    issued = logins.issue(db.session, clock, member)
    db.session.commit()
    click.echo(login_url(settings().KAIRAN_PUBLIC_URL, issued.token))
    expires = issued.expires_at.astimezone(TOKYO).strftime("%H:%M")
    click.echo(
        f"{expires}（日本時間）まで1回だけ使えます / One use, valid until {expires} (Japan time)"
    )
