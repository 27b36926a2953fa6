"""reminders and the clock: delivery slots, reminder hours, the clock lease, officer digests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_STATUS = sa.Enum(
    "pending",
    "in_flight",
    "accepted",
    "failed",
    "held",
    name="digest_status",
    native_enum=False,
    create_constraint=True,
    length=20,
)


def upgrade() -> None:
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminder_hours", sa.JSON(), nullable=False, server_default="[24, 72]")
        )
    # Existing deliveries and batches carried the card: the only kind there was.
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slot", sa.String(length=20), nullable=False, server_default="card")
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slot", sa.String(length=20), nullable=False, server_default="card")
        )
        batch_op.drop_constraint("uq_deliveries_circular_id_resident_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_circular_id_resident_id_slot"),
            ["circular_id", "resident_id", "slot"],
        )
        batch_op.drop_index("ix_deliveries_circular_status")
        batch_op.create_index(
            "ix_deliveries_circular_slot_status", ["circular_id", "slot", "status"], unique=False
        )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    op.create_table(
        "officer_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("retry_key", sa.Uuid(), nullable=False),
        sa.Column("status", BATCH_STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("line_request_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_members.id"],
            name=op.f("fk_officer_digests_staff_member_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer_digests")),
        sa.UniqueConstraint("retry_key", name=op.f("uq_officer_digests_retry_key")),
        sa.UniqueConstraint(
            "staff_member_id", "day", name=op.f("uq_officer_digests_staff_member_id_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("officer_digests")
    op.drop_table("scheduler_leases")
    op.execute("DELETE FROM deliveries WHERE slot <> 'card'")
    op.execute("DELETE FROM delivery_batches WHERE slot <> 'card'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_circular_slot_status")
        batch_op.create_index(
            "ix_deliveries_circular_status", ["circular_id", "status"], unique=False
        )
        batch_op.drop_constraint("uq_deliveries_circular_id_resident_id_slot", type_="unique")
        batch_op.create_unique_constraint(
            "uq_deliveries_circular_id_resident_id", ["circular_id", "resident_id"]
        )
        batch_op.drop_column("slot")
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.drop_column("slot")
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.drop_column("reminder_hours")
