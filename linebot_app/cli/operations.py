"""`kairan line check` and `kairan backup create|restore|verify`: running Kairan for real.

The commands parse their input, call broadcasts.operations and print its findings; `check`
joins the `line` group of rollout.py (`kairan line setup`)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from linebot_app.extensions import clock, db, line, settings

MARKS = {"ok": "OK  ", "warning": "注意", "problem": "NG  "}


class OperationFailed(click.ClickException):
    """Printed as the one bilingual line it carries; exit status 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


backup_group = AppGroup("backup", help="Back up and restore the database and the uploads.")


@click.command("check")
@with_appcontext
def line_check() -> None:
    """Check the configuration against LINE (or whatever LINE_API_BASE_URL points at): the
    token, the webhook URL and LINE's test call to it, the quota and plan, the rich menu.

    Exit status 1 when anything must be fixed; each such line says what to fix.
    """
    from broadcasts.operations import line_check as checks

    configured = settings()
    report = checks.check(line(), configured.LINE_API_BASE_URL, configured.KAIRAN_PUBLIC_URL)
    for finding in report.findings:
        click.echo(f"{MARKS[finding.status.value]} {finding.line}")
    if not report.ok:
        count = len(report.problems)
        raise OperationFailed(
            f"直すべき点が {count} 件あります（NG の行）。直したらもう一度実行してください"
            f" / {count} problem(s) to fix (lines marked NG); run the check again afterwards"
        )
    click.echo("LINE の設定は問題ありません / The LINE configuration works")


ARCHIVE = click.Path(dir_okay=False, path_type=Path)


@backup_group.command("create")
@click.argument("file", type=ARCHIVE)
def backup_create(file: Path) -> None:
    """Write one archive (FILE, e.g. kairan-2026-12-01.tar.gz) of the database, taken
    consistently while Kairan runs, and the uploaded files, with a manifest of checksums.

    The archive holds personal data: it is readable by its owner only; keep it so.
    """
    from broadcasts.operations import backup
    from linebot_app.extensions import upload_dir

    try:
        manifest = backup.create(db.engine, upload_dir(), file, clock)
    except backup.BackupError as error:
        raise OperationFailed(str(error)) from None
    click.echo(f"バックアップを作りました: {file} / Backup written: {file}")
    click.echo(backup.describe(manifest))


@backup_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_verify(file: Path) -> None:
    """Check FILE: every member against the manifest's checksums, and the database copy
    (SQLite's integrity check and rows per table, or pg_restore reading the dump)."""
    from broadcasts.operations import backup

    try:
        checked = backup.verify(file)
    except backup.BackupError as error:
        raise OperationFailed(str(error)) from None
    if checked.manifest is not None:
        click.echo(backup.describe(checked.manifest))
    for problem in checked.problems:
        click.echo(f"{MARKS['problem']} {problem}")
    if not checked.ok:
        raise OperationFailed(
            f"このバックアップは使えません（問題 {len(checked.problems)} 件）"
            f" / This backup cannot be used ({len(checked.problems)} problem(s))"
        )
    click.echo(
        "バックアップは正常です（チェックサムとデータベースのコピーを確認しました）"
        " / The backup is sound (checksums and the database copy checked)"
    )


@backup_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
def backup_restore(file: Path, force: bool) -> None:
    """Restore FILE into the database DATABASE_URL names, and its uploads into the uploads
    directory. Stop web, worker and clock first. A database holding data is refused unless
    --force is given; then everything in it is replaced."""
    from broadcasts.operations import backup
    from linebot_app.extensions import upload_dir
    from linebot_app.schema import schema_problem

    try:
        manifest = backup.restore(file, db.engine, upload_dir(), force=force)
    except backup.BackupError as error:
        raise OperationFailed(str(error)) from None
    click.echo(f"復元しました: {file} / Restored: {file}")
    click.echo(backup.describe(manifest))
    problem = schema_problem(db.engine)
    if problem:
        # A backup from an older release: the schema is brought forward as after any upgrade.
        click.echo(problem)
