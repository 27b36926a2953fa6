"""join codes in force: at most one per association and one per group

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two rotations at once could leave two codes in force: keep the newest of each place.
    op.execute(
        """
        UPDATE join_codes SET revoked_at = created_at
        WHERE revoked_at IS NULL AND id NOT IN (
            SELECT max(id) FROM join_codes WHERE revoked_at IS NULL
            GROUP BY association_id, group_id
        )
        """
    )
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_join_codes_association_in_force",
            ["association_id"],
            unique=True,
            sqlite_where=sa.text("group_id IS NULL AND revoked_at IS NULL"),
            postgresql_where=sa.text("group_id IS NULL AND revoked_at IS NULL"),
        )
        batch_op.create_index(
            "uq_join_codes_group_in_force",
            ["group_id"],
            unique=True,
            sqlite_where=sa.text("group_id IS NOT NULL AND revoked_at IS NULL"),
            postgresql_where=sa.text("group_id IS NOT NULL AND revoked_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.drop_index("uq_join_codes_group_in_force")
        batch_op.drop_index("uq_join_codes_association_in_force")
