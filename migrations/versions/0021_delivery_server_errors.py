"""delivery batches keep the requests LINE answered with a 5xx, and when each began

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 07:00:00

Issue #24: LINE may answer 500 for a request it accepted (the reason retry keys exist). A later
409 names that request (`x-line-accepted-request-id`, the 500's `x-line-request-id`); its start
dates the acceptance, so a resident who unfollowed after it is recorded sent, as LINE delivered
to them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("server_errors", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_batches", schema=None) as batch_op:
        batch_op.drop_column("server_errors")
