"""house labels: the name staff know a household by, and a resident's request to change it

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-02 13:40:00

Issue #20 item 6: an officer or the 班長 labels a household (「3班 山田（12-3）」); staff see the
label instead of LINE nicknames. A resident may ask for another (「表示名の変更」).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ALTER TABLE, never a batch copy of `households` on SQLite: with foreign keys on, dropping the
    # old table is refused while household_members point at it, and the upgrade failed.
    op.add_column("households", sa.Column("label", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column's foreign key only inline, in the column's definition.
        op.execute(
            "ALTER TABLE households ADD COLUMN label_set_by_id INTEGER"
            " CONSTRAINT fk_households_label_set_by_id_staff_members"
            " REFERENCES staff_members (id)"
        )
    else:
        op.add_column("households", sa.Column("label_set_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_households_label_set_by_id_staff_members"),
            "households",
            "staff_members",
            ["label_set_by_id"],
            ["id"],
        )
    op.add_column(
        "households",
        sa.Column("label_set_at", models.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "label_requests",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=True),
        sa.Column("requested_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("prompted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_label_requests_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_label_requests")),
    )


def downgrade() -> None:
    op.drop_table("label_requests")
    if op.get_bind().dialect.name == "sqlite":
        # The foreign key goes with its column in the table's copy (refused while
        # household_members point at households: downgrade such a database from a backup).
        with op.batch_alter_table("households", recreate="always") as batch_op:
            batch_op.drop_column("label_set_at")
            batch_op.drop_column("label_set_by_id")
            batch_op.drop_column("label")
        return
    op.drop_constraint(
        op.f("fk_households_label_set_by_id_staff_members"), "households", type_="foreignkey"
    )
    op.drop_column("households", "label_set_at")
    op.drop_column("households", "label_set_by_id")
    op.drop_column("households", "label")
