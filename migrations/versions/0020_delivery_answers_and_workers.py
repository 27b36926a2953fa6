"""delivery batches count LINE's answers apart from claims; workers report their senders

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 06:00:00

Issue #24: the back-off grew with every claim, those that died with a killed worker included,
so batches went out minutes late once LINE and the workers were healthy again; and a resident
who unfollowed between a batch's first try and LINE's acceptance was recorded sent.
`delivery_workers` holds each worker's heartbeat and live senders (`/healthz`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("line_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("maybe_accepted_since", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "delivery_workers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("senders", sa.Integer(), nullable=False),
        sa.Column("senders_alive", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_delivery_workers")),
    )
    with op.batch_alter_table("delivery_workers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_workers_heartbeat_at"), ["heartbeat_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_workers_heartbeat_at"))
    op.drop_table("delivery_workers")
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.drop_column("maybe_accepted_since")
        batch_op.drop_column("line_failures")
