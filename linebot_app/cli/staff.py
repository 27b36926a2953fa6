"""`kairan staff …`: invite codes for roles, and the dashboard login link of the first admin."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from broadcasts.schedule.rules import TOKYO
from broadcasts.staff import invites as staff_invites
from broadcasts.staff import logins
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
def staff_invite(
    role: str, district_code: str | None, association_code: str | None, group_name: str | None
) -> None:
    """Print a one-time code, valid 7 days. The staff member sends it to the bot in LINE and
    their LINE account gets the role."""
    require_current_schema()
    try:
        invite = staff_invites.create_invite(
            db.session, clock, Role(role), district_code, association_code, group_name
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
