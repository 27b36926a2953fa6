"""questions ask for a choice, a headcount or a short text; who answered what

Issue #20 item 5. A circular (and a template) says what kind of answer its question asks for
(`question_kind`: choice, headcount, text). An acknowledgement keeps a headcount (0–20) or a short
text beside the chosen option: still one row per circular × resident, so one answer each by the
existing unique constraint. A delivery counts as answered when its acknowledgement holds any of
the three answers, so the triggers of 0015 now follow all three columns instead of the option. `answer_prompts` remembers, per resident, the circular whose answer the
bot waits for as their next typed message.

Columns are added with their CHECK inline (ALTER TABLE … ADD COLUMN … CHECK), which SQLite and
PostgreSQL both accept: a batch copy of `circulars` would cascade-delete its children on SQLite,
whose migrations run with foreign keys on.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = (
    "VARCHAR(20) DEFAULT 'choice' NOT NULL CONSTRAINT ck_{table}_question_kind"
    " CHECK (question_kind IN ('choice', 'headcount', 'text'))"
)
ADD_COLUMNS = [
    f"ALTER TABLE circulars ADD COLUMN question_kind {KIND.format(table='circulars')}",
    "ALTER TABLE circular_templates ADD COLUMN question_kind"
    f" {KIND.format(table='circular_templates')}",
    "ALTER TABLE acknowledgements ADD COLUMN answer_count SMALLINT"
    " CONSTRAINT ck_acknowledgements_answer_count_range"
    " CHECK (answer_count IS NULL OR answer_count BETWEEN 0 AND 20)",
    "ALTER TABLE acknowledgements ADD COLUMN answer_text VARCHAR(200)",
]


# What "answered" means, of acknowledgement `{a}` (the model's Acknowledgement.answered), and
# the columns whose update changes it; before this migration, the option alone.
ANSWERED = "({a}.answer_option_id IS NOT NULL OR {a}.answer_count IS NOT NULL OR {a}.answer_text IS NOT NULL)"
ANSWER_COLUMNS = "answer_option_id, answer_count, answer_text"
OPTION_ANSWERED = "({a}.answer_option_id IS NOT NULL)"


def _sqlite_triggers(answered: str, columns: str) -> list[str]:
    """0015's SQLite triggers that set `answered`, with `answered` (ANSWERED or OPTION_ANSWERED)
    as the acknowledgement's condition and `columns` those whose update changes it."""
    snapshot = f"""
    association_id = (SELECT r.association_id FROM residents r WHERE r.id = deliveries.resident_id),
    group_id = (SELECT r.group_id FROM residents r WHERE r.id = deliveries.resident_id),
    household_key = COALESCE(
        (SELECT m.household_id FROM household_members m
         WHERE m.resident_id = deliveries.resident_id),
        -deliveries.resident_id),
    opened = (slot = 'card' AND EXISTS (
        SELECT 1 FROM opens o
        WHERE o.circular_id = deliveries.circular_id AND o.resident_id = deliveries.resident_id)),
    confirmed = (slot = 'card' AND EXISTS (
        SELECT 1 FROM acknowledgements a
        WHERE a.circular_id = deliveries.circular_id AND a.resident_id = deliveries.resident_id)),
    answered = (slot = 'card' AND EXISTS (
        SELECT 1 FROM acknowledgements a
        WHERE a.circular_id = deliveries.circular_id AND a.resident_id = deliveries.resident_id
          AND {answered.format(a="a")}))
    """  # noqa: S608 (this file's constants only)
    return [
        "DROP TRIGGER deliveries_snapshot",
        "DROP TRIGGER acknowledgements_mark_delivery",
        "DROP TRIGGER acknowledgements_mark_answer",
        f"""
        CREATE TRIGGER deliveries_snapshot AFTER INSERT ON deliveries
        WHEN NEW.household_key IS NULL
        BEGIN
            UPDATE deliveries SET {snapshot} WHERE id = NEW.id;
        END
        """,  # noqa: S608
        f"""
        CREATE TRIGGER acknowledgements_mark_delivery AFTER INSERT ON acknowledgements
        BEGIN
            UPDATE deliveries SET confirmed = 1, answered = {answered.format(a="NEW")}
            WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id
              AND slot = 'card';
        END
        """,  # noqa: S608
        f"""
        CREATE TRIGGER acknowledgements_mark_answer AFTER UPDATE OF {columns}
        ON acknowledgements
        BEGIN
            UPDATE deliveries SET answered = {answered.format(a="NEW")}
            WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id
              AND slot = 'card';
        END
        """,  # noqa: S608
    ]


def _postgresql_triggers(answered: str, columns: str) -> list[str]:
    return [
        f"""
        CREATE OR REPLACE FUNCTION deliveries_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
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
                  AND {answered.format(a="a")});
            RETURN NEW;
        END $$
        """,  # noqa: S608
        f"""
        CREATE OR REPLACE FUNCTION acknowledgements_mark_delivery() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE deliveries
            SET confirmed = TRUE, answered = {answered.format(a="NEW")}
            WHERE circular_id = NEW.circular_id AND resident_id = NEW.resident_id
              AND slot = 'card';
            RETURN NULL;
        END $$
        """,  # noqa: S608
        "DROP TRIGGER acknowledgements_mark_delivery ON acknowledgements",
        f"""
        CREATE TRIGGER acknowledgements_mark_delivery
        AFTER INSERT OR UPDATE OF {columns} ON acknowledgements
        FOR EACH ROW EXECUTE FUNCTION acknowledgements_mark_delivery()
        """,
    ]


def _triggers(answered: str, columns: str) -> list[str]:
    if op.get_bind().dialect.name == "postgresql":
        return _postgresql_triggers(answered, columns)
    return _sqlite_triggers(answered, columns)


def upgrade() -> None:
    for statement in ADD_COLUMNS:
        op.execute(statement)
    op.create_table(
        "answer_prompts",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["circular_id"],
            ["circulars.id"],
            name=op.f("fk_answer_prompts_circular_id_circulars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_answer_prompts_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_answer_prompts")),
    )
    # Every answer so far was an option: the flags stay as they are.
    for statement in _triggers(ANSWERED, ANSWER_COLUMNS):
        op.execute(statement)


def downgrade() -> None:
    # Headcounts and texts go; their acknowledgements stay as confirmations.
    op.execute(
        "UPDATE acknowledgements SET answer_count = NULL, answer_text = NULL, answered_at = NULL"
        " WHERE answer_option_id IS NULL AND answered_at IS NOT NULL"
    )
    for statement in _triggers(OPTION_ANSWERED, "answer_option_id"):
        op.execute(statement)
    op.drop_table("answer_prompts")
    # Each CHECK belongs to its column: both databases drop it with the column.
    op.execute("ALTER TABLE acknowledgements DROP COLUMN answer_text")
    op.execute("ALTER TABLE acknowledgements DROP COLUMN answer_count")
    op.execute("ALTER TABLE circular_templates DROP COLUMN question_kind")
    op.execute("ALTER TABLE circulars DROP COLUMN question_kind")
