"""residents: the privacy notice's version they consented to and when; when they were anonymised

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 10:00:00

Issue #21 item 4 (personal-data rules): registration records consent; 登録解除, an admin's erase
and the retention period after blocking the bot anonymise a resident, once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_version", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("consented_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("anonymised_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    # Rows 登録解除 already anonymised count as anonymised.
    op.execute(
        "UPDATE residents SET anonymised_at = unregistered_at WHERE unregistered_at IS NOT NULL"
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): batch mode would rebuild `residents`, which
    # the delivery triggers of 0015 name on SQLite.
    for column in ("anonymised_at", "consented_at", "consent_version"):
        op.execute(f"ALTER TABLE residents DROP COLUMN {column}")
