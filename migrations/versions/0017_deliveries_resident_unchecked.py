"""deliveries: no per-row check of their resident either

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 17:30:00

The resident's foreign key was the last per-row check on the release's INSERT … SELECT, and the
most expensive: PostgreSQL locks each of the 100,000 resident rows it checks (FOR KEY SHARE),
which was 0.29 s of the 0.95 s a 100k release took (bench/fanout.py). The statement takes every
resident id from the residents it reads, and residents are never deleted: one who leaves blocks
the bot and keeps their row, which their acknowledgements, opens and conversations still
reference with keys of their own.

On SQLite the table is rebuilt to drop the key, which drops the triggers of 0015 that name it:
they are made again, as 0015 made them.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_deliveries_resident_id_residents"
SQLITE_TRIGGERS = (
    "acknowledgements_mark_answer",
    "acknowledgements_mark_delivery",
    "opens_mark_delivery",
    "deliveries_snapshot",
)


def _delivery_facts() -> ModuleType:
    """Migration 0015, whose SQLite triggers are remade here exactly as it made them."""
    path = Path(__file__).with_name("0015_delivery_facts.py")
    spec = importlib.util.spec_from_file_location("migration_0015", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rebuild_on_sqlite(change_table: object) -> None:
    for trigger in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")
    with op.batch_alter_table("deliveries", schema=None, recreate="always") as batch_op:
        change_table(batch_op)  # type: ignore[operator]
    for statement in _delivery_facts().SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "deliveries", type_="foreignkey")
        return
    _rebuild_on_sqlite(lambda batch_op: batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(FOREIGN_KEY, "deliveries", "residents", ["resident_id"], ["id"])
        return
    _rebuild_on_sqlite(
        lambda batch_op: batch_op.create_foreign_key(
            FOREIGN_KEY, "residents", ["resident_id"], ["id"]
        )
    )
