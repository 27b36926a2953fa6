"""The `kairan` command: one click group on Flask's CLI, its command groups one module each
(database, circulars, staff, rollout, safety, processes, demo, operations).

Commands parse their input, call the same services as the web and LINE, and commit once.

Flask's AppGroup runs every command inside an app context; the groups here are AppGroups, and
the commands that start processes of their own (the simulator, the demo) are plain click
commands without one.

What only some commands need (the scheduler, the worker, the demo, the services behind one
command) is imported inside them: `kairan --help` and every other command pay only for what
they use.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, routes_command, shell_command

from linebot_app import create_app, create_database_app, create_process_app
from linebot_app.cli import (
    circulars,
    database,
    demo,
    operations,
    processes,
    residents,
    rollout,
    safety,
    staff,
)
from linebot_app.cli.common import CommandError
from linebot_app.config import ConfigError
from linebot_app.extensions import db


class KairanGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Every command is registered on this group, so `kairan --help` needs no app and
        # therefore works before the settings are complete.
        return click.Group.list_commands(self, ctx)


# Commands that need only DATABASE_URL: the schema and the areas come before the LINE channel
# (a migration must not require LINE's secrets). Every other command loads all the settings
# and, when one is missing or malformed, says which in one line.
DATABASE_ONLY = frozenset({"db upgrade", "import areas"})
# The Procfile's long-running processes other than the web: they serve no page.
PROCESSES = frozenset({"worker", "scheduler"})


def _create_app() -> Flask:
    try:
        running = _running()
        if running in DATABASE_ONLY:
            app = create_database_app()
        elif running in PROCESSES:
            app = create_process_app()
        else:
            app = create_app()
    except ConfigError as error:
        raise CommandError(str(error)) from None
    context = click.get_current_context(silent=True)
    if context is not None:
        # The command's pooled connections are closed when it ends (after its app context),
        # not left open for the garbage collector: a caller that lives on, such as a test
        # invoking commands, would otherwise keep one connection per command until then.
        context.find_root().call_on_close(lambda: _close_connections(app))
    return app


def _close_connections(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def _running() -> str:
    """The command being run, without the program's name: "db upgrade"."""
    context = click.get_current_context(silent=True)
    return "" if context is None else " ".join(context.command_path.split()[1:])


cli = KairanGroup(
    create_app=_create_app,
    add_default_commands=False,
    load_dotenv=False,  # pydantic-settings reads .env: one way to read settings
    help="Kairan (回覧): LINE circulars for neighbourhood associations.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)
for command in (
    database.db_group,
    circulars.circulars_group,
    circulars.templates_group,
    rollout.districts_group,
    rollout.import_group,
    rollout.line_group,
    staff.staff_group,
    operations.backup_group,
    residents.residents_group,
    safety.safety_group,
    processes.worker_command,
    processes.scheduler_command,
    demo.simulator_command,
    demo.demo_command,
):
    cli.add_command(command)
rollout.line_group.add_command(operations.line_check)


def main() -> None:
    cli.main(prog_name="kairan")
