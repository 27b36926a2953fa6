"""translations: a circular's versions in other languages and やさしい日本語; batch language

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-25 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "circular_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["circular_id"],
            ["circulars.id"],
            name=op.f("fk_circular_translations_circular_id_circulars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circular_translations")),
        sa.UniqueConstraint(
            "circular_id", "language", name=op.f("uq_circular_translations_circular_id_language")
        ),
    )
    # Batches released before translations carried the Japanese text.
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="ja")
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.drop_column("language")
    op.drop_table("circular_translations")
