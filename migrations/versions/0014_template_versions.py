"""template versions: templates keep one confirmation per household and the translations

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circular_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("one_per_household", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("translations", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("circular_templates", schema=None) as batch_op:
        batch_op.drop_column("translations")
        batch_op.drop_column("one_per_household")
