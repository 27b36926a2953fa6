"""The database schema's version: upgrading it, and refusing to run on an old one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

import migrations

# Alembic (with the Mako and Pygments it loads) is imported only to change the schema: every
# process checks it at start-up, and that check reads the newest revision from the migrations'
# file names instead (tests/integration/test_schema.py keeps the two ways equal).
if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = Path(migrations.__file__).parent / "versions"
# Each migration's file name starts with its revision: `0024_residents_reach_index.py`.
NUMBERED = re.compile(r"^(\d{4})_\w+\.py$")

UPGRADE_HINT = "kairan db upgrade"


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # env.py migrates this connection; it never builds an engine of its own.
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision: the highest-numbered file in migrations/versions/."""
    return max(
        match.group(1) for path in VERSIONS.iterdir() if (match := NUMBERED.match(path.name))
    )


def schema_problem(engine: Engine) -> str | None:
    """None when the schema is at the newest migration, else a bilingual reason."""
    with engine.connect() as connection:
        current: set[str] = set()
        if inspect(connection).has_table("alembic_version"):
            current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    if current == {head_revision()}:
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
