"""The `kairan` command: one click group on Flask's CLI. Commands parse their input, call the
same services as the web and LINE, and commit once.

Flask's AppGroup runs every command inside an app context unless it says `with_appcontext=False`
(the commands that start processes of their own).

What only some commands need (the scheduler, the worker, the demo, the services behind one
command) is imported inside them: `kairan --help` and every other command pay only for what
they use.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path

import click
import urllib3
from flask import Flask
from flask.cli import FlaskGroup, routes_command, shell_command

from broadcasts.circulars import links
from broadcasts.core.clock import SystemClock
from broadcasts.delivery.line import remaining_quota
from broadcasts.schedule.rules import TOKYO
from broadcasts.staff import invites as staff_invites
from broadcasts.staff import logins
from linebot_app import create_app, operations_cli
from linebot_app.config import ConfigError
from linebot_app.dashboard.links import login_url
from linebot_app.extensions import db, line, settings
from linebot_app.schema import new_revision, upgrade
from linebot_app.startup import StartupError, check_schema, wait_for_schema
from models import Circular, CircularStatus, Role


class CommandError(click.ClickException):
    """Printed as the one line it carries, with nothing in front."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


class KairanGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Every command is registered on this group, so `kairan --help` needs no app and
        # therefore works before the settings are complete.
        return click.Group.list_commands(self, ctx)


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as error:
        raise CommandError(str(error)) from None


cli = KairanGroup(
    create_app=_create_app,
    add_default_commands=False,
    load_dotenv=False,  # pydantic-settings reads .env: one way to read settings
    help="Kairan (回覧): LINE circulars for neighbourhood associations.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)


def require_current_schema() -> None:
    """Commands refuse to run on an old schema rather than fail on the first query."""
    try:
        check_schema()
    except StartupError as error:
        raise CommandError(str(error)) from None


@cli.group("db")
def db_group() -> None:
    """Create or upgrade the database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create the schema, or bring it up to the newest migration."""
    upgrade(db.engine)
    click.echo("データベースは最新です / Database schema is up to date.")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Write a new migration from the models (for maintainers; review it before committing)."""
    new_revision(db.engine, message)


@cli.group("import")
def import_group() -> None:
    """Load data from files."""


@import_group.command("areas")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_areas_command(csv_file: Path) -> None:
    """Load districts, associations and groups from a CSV saved by Excel.

    Re-importing updates what changed and never duplicates. A file with any bad row changes
    nothing; every bad row is listed with its line number.
    """
    from broadcasts.rollout import areas

    require_current_schema()
    try:
        # On a terminal the bar moves; in a log (not a terminal) click prints its label once.
        with click.progressbar(
            length=csv_file.stat().st_size, label="取り込み中 / Importing"
        ) as bar:
            report = areas.import_areas(db.session, areas.read(csv_file, progress=bar.update))
    except areas.AreaFileError as error:
        # Rows before the first problem were written: the rollback is what changes nothing.
        db.session.rollback()
        for problem in error.problems:
            click.echo(problem, err=True)
        raise CommandError(
            f"取り込みを中止しました（{len(error.problems)}件の問題、変更なし）"
            f" / Import aborted: {len(error.problems)} problem(s), nothing was changed"
        ) from None
    db.session.commit()
    for kind in areas.KINDS:
        click.echo(
            f"{kind}: 新規 {report.created[kind]} / created, 更新 {report.updated[kind]} / updated"
        )


@cli.command("worker")
def worker_command() -> None:
    """Send released circulars to LINE (the Procfile's `worker`). Stops cleanly on SIGTERM.

    Several may run on PostgreSQL; on SQLite a second one refuses to start.
    """
    from broadcasts.delivery.worker import (
        Worker,
        WorkerAlreadyRunning,
        single_worker_on_sqlite,
        worker_id,
    )

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
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
                SystemClock(),
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


@cli.group("circulars")
def circulars_group() -> None:
    """Look at and send circulars."""


@circulars_group.command("show")
@click.argument("circular_id", type=int)
def circulars_show(circular_id: int) -> None:
    """Print a circular's status and delivery counts."""
    from broadcasts.delivery import steps

    require_current_schema()
    if db.session.get(Circular, circular_id) is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    shown = steps.progress(db.session, circular_id)
    click.echo(f"circular {circular_id}: {shown.status.value}")
    if shown.hold_reason:
        click.echo(f"  保留中 / on hold: {shown.hold_reason}")
    click.echo("  deliveries: " + ", ".join(f"{k} {v}" for k, v in shown.deliveries.items()))
    click.echo("  batches:    " + ", ".join(f"{k} {v}" for k, v in shown.batches.items()))


def _remaining_quota() -> int | None:
    """This month's messages left, asked before any transaction: no LINE call while the
    database is being written."""
    from linebot.v3.messaging import ApiException

    try:
        return remaining_quota(line())
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        raise CommandError(
            f"LINE に問い合わせできません / Cannot reach LINE ({type(error).__name__})"
        ) from None


@circulars_group.command("send")
@click.argument("circular_id", type=int)
def circulars_send(circular_id: int) -> None:
    """Release a circular now (or resume one paused, its card or a reminder, for quota); the
    worker sends it."""
    from broadcasts.circulars.release import release
    from broadcasts.delivery import steps

    require_current_schema()
    remaining = _remaining_quota()
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    # Paused (its card, or a reminder after it was sent): resume. Anything else is released;
    # release says so if it has been already, by this command run twice or by the clock.
    started = circular.status in (CircularStatus.sending, CircularStatus.sent)
    if started and circular.hold_reason is not None:
        reason = steps.resume(db.session, circular, remaining)
        db.session.commit()
        if reason:
            raise CommandError(reason)
        click.echo(f"circular {circular_id}: resumed")
        return
    result = release(db.session, SystemClock(), circular, remaining)
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
    from broadcasts.circulars import compose

    require_current_schema()
    wanted = CircularStatus(status) if status else None
    for row in compose.list_circulars(db.session, wanted, limit):
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
    from broadcasts.circulars import compose

    require_current_schema()
    circular = db.session.get(Circular, circular_id)
    if circular is None:
        raise CommandError(f"回覧 {circular_id} はありません / No circular {circular_id}")
    try:
        compose.cancel_by_operator(db.session, SystemClock(), circular)
    except compose.CompositionError as error:
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


@cli.command("scheduler")
def scheduler_command() -> None:
    """Release scheduled circulars, send reminders and officers' digests (the Procfile's
    `clock`). A second one started by mistake waits: a database lease decides who ticks."""
    from broadcasts.delivery.worker import worker_id
    from broadcasts.schedule import process
    from broadcasts.schedule.jobs import ClockSettings, Clockwork
    from broadcasts.schedule.rules import QuietHours
    from linebot_app.circulars.views import upload_dir

    require_current_schema()
    configured = settings()
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        SystemClock(),
        ClockSettings(
            quiet_hours=QuietHours.parse(configured.KAIRAN_QUIET_HOURS),
            dashboard_url=f"{configured.KAIRAN_PUBLIC_URL}/dashboard/",
            upload_dir=upload_dir(),
        ),
        holder=worker_id(),
    )
    process.run(clockwork)


@cli.command("simulator", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True)
@click.option("--webhook-url", help="Where to POST webhook events (the bot's /callback).")
@click.option(
    "--quota", default=200_000, show_default=True, help="Monthly message quota; -1: unlimited."
)
@click.option("--no-rate-limits", is_flag=True, help="Answer as fast as possible.")
@click.option("--allow-http-media", is_flag=True, help="Accept http:// images (offline demo).")
def simulator_command(
    host: str,
    port: int,
    webhook_url: str | None,
    quota: int,
    no_rate_limits: bool,
    allow_http_media: bool,
) -> None:
    """Run the LINE simulator: LINE's API for the bot, and phones in the browser for people.

    Uses the same LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN as the bot.
    """
    import simulator

    try:
        app = simulator.create_app(
            quota_limit=None if quota < 0 else quota,
            rate_limits_enabled=not no_rate_limits,
            webhook_url=webhook_url,
            allow_http_media=allow_http_media,
        )
    except simulator.SimulatorConfigError as error:
        raise CommandError(str(error)) from None
    click.echo(f"LINE simulator: http://{host}:{port}/")
    simulator.serve(host, port, app)


@cli.command("demo", with_appcontext=False)
@click.option("--port", default=8000, show_default=True, help="Port of the web app.")
@click.option("--simulator-port", default=8090, show_default=True, help="Port of the simulator.")
@click.option(
    "--state-dir",
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database and generated secrets.",
)
def demo_command(port: int, simulator_port: int, state_dir: Path) -> None:
    """Run everything offline on this machine: SQLite, sample areas, the web app, the LINE
    simulator, the delivery worker and the clock."""
    from linebot_app import demo

    demo.run(state_dir.resolve(), port, simulator_port)


@cli.group("line")
def line_group() -> None:
    """Set up the LINE channel."""


@line_group.command("setup")
def line_setup() -> None:
    """Create the default rich menu (回覧を見る・設定・ヘルプ) with its image, through the API.

    Running it again replaces Kairan's menu; followers keep a working menu throughout.
    """
    from linebot.v3.messaging import ApiException

    from broadcasts.rollout import richmenu

    try:
        image = richmenu.render(richmenu.find_font())
    except richmenu.FontMissingError as error:
        raise CommandError(str(error)) from None
    try:
        menu_id = richmenu.install(line(), image)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        raise CommandError(
            f"LINE に接続できませんでした / LINE did not accept the request ({error})"
        ) from None
    click.echo(f"リッチメニューを設定しました / Default rich menu set: {menu_id}")


@cli.group("staff")
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
            db.session, SystemClock(), Role(role), district_code, association_code, group_name
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
    member = logins.staff_with_roles(db.session, line_user_id)
    if member is None:
        raise CommandError(
            "この LINE アカウントには役割がありません（先に kairan staff invite）"
            " / This LINE account holds no role: invite it first (kairan staff invite)"
        )
    issued = logins.issue(db.session, SystemClock(), member)
    db.session.commit()
    click.echo(login_url(settings().KAIRAN_PUBLIC_URL, issued.token))
    expires = issued.expires_at.astimezone(TOKYO).strftime("%H:%M")
    click.echo(
        f"{expires}（日本時間）まで1回だけ使えます / One use, valid until {expires} (Japan time)"
    )


@cli.group("safety")
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
    from broadcasts.circulars import compose
    from broadcasts.safety import checks

    require_current_schema()
    remaining = _remaining_quota()
    try:
        target = checks.area_target(db.session, district_code, association_code)
        member = compose.staff_member_for(db.session, author)
        started = checks.start(db.session, SystemClock(), member, target, remaining, message)
    except compose.CompositionError as error:
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


operations_cli.register(cli)  # `kairan line check`, `kairan backup …`


def main() -> None:
    cli.main(prog_name="kairan")


# The rollout commands add themselves to `cli`; imported last because they import it from here.
from linebot_app import rollout_cli  # noqa: E402, F401
