"""`kairan db …`: create or upgrade the database schema, and write new migrations."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from linebot_app.extensions import db
from linebot_app.schema import new_revision, upgrade


@click.group("db", cls=AppGroup)
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
