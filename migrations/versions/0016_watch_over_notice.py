"""watch-over notice: the circular that tells residents registered before the opt-in

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watch_over_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_circular_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_watch_over_settings_notice_circular_id_circulars"),
            "circulars",
            ["notice_circular_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("watch_over_settings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_watch_over_settings_notice_circular_id_circulars"), type_="foreignkey"
        )
        batch_op.drop_column("notice_circular_id")
