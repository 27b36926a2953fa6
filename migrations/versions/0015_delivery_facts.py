"""deliveries carry their area, household and read facts: the statistics in one pass

Each delivery records the association, 班 and household of its resident when it was written,
and whether an Open and an Acknowledgement (with an answer) exist for it. Database triggers keep
the three flags in the statement that writes the Open or the Acknowledgement, whichever code
writes it, so they cannot disagree with a committed row. Existing deliveries are backfilled
from the residents' registration and households as they are now (the best record there is).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS_OF_CARD = """
    opened = (slot = 'card' AND EXISTS (
        SELECT 1 FROM opens o
        WHERE o.circular_id = deliveries.circular_id AND o.resident_id = deliveries.resident_id)),
    confirmed = (slot = 'card' AND EXISTS (
        SELECT 1 FROM acknowledgements a
        WHERE a.circular_id = deliveries.circular_id AND a.resident_id = deliveries.resident_id)),
    answered = (slot = 'card' AND EXISTS (
        SELECT 1 FROM acknowledgements a
        WHERE a.circular_id = deliveries.circular_id AND a.resident_id = deliveries.resident_id
          AND a.answer_option_id IS NOT NULL))
"""

# Built from this file's constants only: nothing from outside reaches the SQL.
SNAPSHOT = f"""
    association_id = (SELECT r.association_id FROM residents r WHERE r.id = deliveries.resident_id),
    group_id = (SELECT r.group_id FROM residents r WHERE r.id = deliveries.resident_id),
    household_key = COALESCE(
        (SELECT m.household_id FROM household_members m
         WHERE m.resident_id = deliveries.resident_id),
        -deliveries.resident_id),
    {FLAGS_OF_CARD}
"""  # noqa: S608

BACKFILL = f"UPDATE deliveries SET {SNAPSHOT}"  # noqa: S608 (this file's constants only)

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER deliveries_snapshot AFTER INSERT ON deliveries
    WHEN NEW.household_key IS NULL
    BEGIN
        UPDATE deliveries SET {SNAPSHOT} WHERE id = NEW.id;
    END
    """,  # noqa: S608
    """
    CREATE TRIGGER opens_mark_delivery AFTER INSERT ON opens
    BEGIN
        UPDATE deliveries SET opened = 1
        WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id AND slot = 'card';
    END
    """,
    """
    CREATE TRIGGER acknowledgements_mark_delivery AFTER INSERT ON acknowledgements
    BEGIN
        UPDATE deliveries SET confirmed = 1, answered = (NEW.answer_option_id IS NOT NULL)
        WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id AND slot = 'card';
    END
    """,
    """
    CREATE TRIGGER acknowledgements_mark_answer AFTER UPDATE OF answer_option_id
    ON acknowledgements
    BEGIN
        UPDATE deliveries SET answered = (NEW.answer_option_id IS NOT NULL)
        WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id AND slot = 'card';
    END
    """,
]

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION deliveries_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT r.association_id, r.group_id, COALESCE(m.household_id, -r.id)
        INTO NEW.association_id, NEW.group_id, NEW.household_key
        FROM residents r LEFT JOIN household_members m ON m.resident_id = r.id
        WHERE r.id = NEW.resident_id;
        NEW.opened := NEW.slot = 'card' AND EXISTS (
            SELECT 1 FROM opens o
            WHERE o.circular_id = NEW.circular_id AND o.resident_id = NEW.resident_id);
        NEW.confirmed := NEW.slot = 'card' AND EXISTS (
            SELECT 1 FROM acknowledgements a
            WHERE a.circular_id = NEW.circular_id AND a.resident_id = NEW.resident_id);
        NEW.answered := NEW.slot = 'card' AND EXISTS (
            SELECT 1 FROM acknowledgements a
            WHERE a.circular_id = NEW.circular_id AND a.resident_id = NEW.resident_id
              AND a.answer_option_id IS NOT NULL);
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER deliveries_snapshot BEFORE INSERT ON deliveries
    FOR EACH ROW WHEN (NEW.household_key IS NULL) EXECUTE FUNCTION deliveries_snapshot()
    """,
    """
    CREATE FUNCTION opens_mark_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE deliveries SET opened = TRUE
        WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id AND slot = 'card';
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER opens_mark_delivery AFTER INSERT ON opens
    FOR EACH ROW EXECUTE FUNCTION opens_mark_delivery()
    """,
    """
    CREATE FUNCTION acknowledgements_mark_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE deliveries
        SET confirmed = TRUE, answered = (NEW.answer_option_id IS NOT NULL)
        WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id AND slot = 'card';
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER acknowledgements_mark_delivery
    AFTER INSERT OR UPDATE OF answer_option_id ON acknowledgements
    FOR EACH ROW EXECUTE FUNCTION acknowledgements_mark_delivery()
    """,
]


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("association_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("household_key", sa.Integer(), nullable=True))
        for flag in ("opened", "confirmed", "answered"):
            batch_op.add_column(
                sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        batch_op.drop_index("ix_deliveries_circular_slot_status")
    op.execute(BACKFILL)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_circular_area",
            [
                "circular_id",
                "slot",
                "association_id",
                "group_id",
                "household_key",
                "status",
                "opened",
                "confirmed",
                "answered",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_deliveries_circular_household",
            [
                "circular_id",
                "slot",
                "household_key",
                "association_id",
                "group_id",
                "status",
                "confirmed",
            ],
            unique=False,
            sqlite_where=sa.text("household_key > 0"),
            postgresql_where=sa.text("household_key > 0"),
        )
        batch_op.create_index(
            "ix_deliveries_circular_lost",
            ["circular_id", "slot", "status", "failure_reason"],
            unique=False,
            sqlite_where=sa.text("status IN ('failed', 'skipped')"),
            postgresql_where=sa.text("status IN ('failed', 'skipped')"),
        )
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_acknowledgements_circular_answer",
            ["circular_id", "answer_option_id"],
            unique=False,
        )
    triggers = (
        POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER acknowledgements_mark_delivery ON acknowledgements")
        op.execute("DROP TRIGGER opens_mark_delivery ON opens")
        op.execute("DROP TRIGGER deliveries_snapshot ON deliveries")
        for function in ("acknowledgements_mark_delivery", "opens_mark_delivery"):
            op.execute(f"DROP FUNCTION {function}()")
        op.execute("DROP FUNCTION deliveries_snapshot()")
    else:
        for trigger in (
            "acknowledgements_mark_answer",
            "acknowledgements_mark_delivery",
            "opens_mark_delivery",
            "deliveries_snapshot",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_index("ix_acknowledgements_circular_answer")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_circular_lost")
        batch_op.drop_index("ix_deliveries_circular_household")
        batch_op.drop_index("ix_deliveries_circular_area")
        batch_op.create_index(
            "ix_deliveries_circular_slot_status", ["circular_id", "slot", "status"], unique=False
        )
        for column in ("answered", "confirmed", "opened", "household_key", "group_id"):
            batch_op.drop_column(column)
        batch_op.drop_column("association_id")
