"""quota holds and the notices about them

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 14:00:00

Issue #20, item 7: a circular's card or follow-up held for the month's quota is recorded once
per hold (one open hold per circular × slot), and the author and the admins get one LINE notice
per hold, each sent like a batch of one with its own retry key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTICE_STATUS = sa.Enum(
    "pending",
    "in_flight",
    "accepted",
    "failed",
    "held",
    name="hold_notice_status",
    native_enum=False,
    create_constraint=True,
    length=20,
)


def upgrade() -> None:
    op.create_table(
        "quota_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=20), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=True),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("held_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["circular_id"], ["circulars.id"], name=op.f("fk_quota_holds_circular_id_circulars")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_holds")),
    )
    op.create_index(op.f("ix_quota_holds_circular_id"), "quota_holds", ["circular_id"])
    op.create_index(
        "uq_quota_holds_open",
        "quota_holds",
        ["circular_id", "slot"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "hold_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=False),
        sa.Column("retry_key", sa.Uuid(), nullable=False),
        sa.Column("status", NOTICE_STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("line_request_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["quota_holds.id"], name=op.f("fk_hold_notices_hold_id_quota_holds")
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_members.id"],
            name=op.f("fk_hold_notices_staff_member_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_notices")),
        sa.UniqueConstraint("retry_key", name=op.f("uq_hold_notices_retry_key")),
        sa.UniqueConstraint(
            "hold_id", "staff_member_id", name=op.f("uq_hold_notices_hold_id_staff_member_id")
        ),
    )
    op.create_index(op.f("ix_hold_notices_status"), "hold_notices", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hold_notices_status"), table_name="hold_notices")
    op.drop_table("hold_notices")
    op.drop_index("uq_quota_holds_open", table_name="quota_holds")
    op.drop_index(op.f("ix_quota_holds_circular_id"), table_name="quota_holds")
    op.drop_table("quota_holds")
