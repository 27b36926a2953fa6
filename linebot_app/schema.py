"""The database schema's version: upgrading it, and refusing to run on an old one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

import migrations

# Alembic (with the Mako and Pygments it loads) is imported where the schema is looked at: a
# command such as `kairan --help` never does.
if TYPE_CHECKING:
    from alembic.config import Config

UPGRADE_HINT = "kairan db upgrade"


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # env.py migrates this connection; it never builds an engine of its own.
    config.attributes["connection"] = connection
    return config


def schema_problem(engine: Engine) -> str | None:
    """None when the schema is at the newest migration, else a bilingual reason."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
        heads = set(ScriptDirectory.from_config(alembic_config(connection)).get_heads())
    if current == heads:
        return None
    if not current:
        return (
            f"データベースが初期化されていません。`{UPGRADE_HINT}` を実行してください"
            f" / The database has no schema: run `{UPGRADE_HINT}`"
        )
    return (
        f"データベースが古い版です。`{UPGRADE_HINT}` を実行してください"
        f" / The database schema is out of date: run `{UPGRADE_HINT}`"
    )


def upgrade(engine: Engine) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def new_revision(engine: Engine, message: str) -> None:
    """Write a migration for what the models have and the database lacks (for maintainers)."""
    from alembic import command

    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
