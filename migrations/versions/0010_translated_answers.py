"""translated answers: a translation's own question and labels for the answer options

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circular_translations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("question", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("circular_translations", schema=None) as batch_op:
        batch_op.drop_column("question")
        batch_op.drop_column("answers")
