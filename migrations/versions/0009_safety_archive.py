"""safety checks and the archive: circulars.safety_check, archive_searches

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-25 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("safety_check", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "archive_searches",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=50), nullable=True),
        sa.Column("asked_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_archive_searches_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_archive_searches")),
    )


def downgrade() -> None:
    op.drop_table("archive_searches")
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.drop_column("safety_check")
