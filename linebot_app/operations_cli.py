"""`kairan line check` and `kairan backup create|restore|verify`: running Kairan for real.

The commands parse their input, call broadcasts.operations and print its findings; `register`
attaches them to the `kairan` group (linebot_app.cli calls it once). Nothing here imports the
`kairan` group itself, so this module has no import cycle with it.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from linebot_app.extensions import line, settings

MARKS = {"ok": "OK  ", "warning": "注意", "problem": "NG  "}


class OperationFailed(click.ClickException):
    """Printed as the one bilingual line it carries; exit status 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


line_group = AppGroup("line", help="Set up and check the LINE channel.")
backup_group = AppGroup("backup", help="Back up and restore the database and the uploads.")


def register(cli: click.Group) -> None:
    """Add the commands to `kairan`. `line` may exist already (`kairan line setup`): `check`
    joins it rather than replacing it."""
    existing = cli.commands.get("line")
    if isinstance(existing, click.Group):
        existing.add_command(line_check)
    else:
        cli.add_command(line_group)
    cli.add_command(backup_group)


@line_group.command("check")
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
