"""join_code_failures: counted per LINE user (hashed), not per resident row

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 06:00:00

Wrong join codes were counted against the resident row, so 「登録解除」 (which makes the row
anonymous) and a sender Kairan did not know both started from nothing, and guessing went on
unchecked (issue #18). The count is now keyed by the SHA-256 of the LINE user id, known or not.
The rows there are (a day's worth at most) are carried over under their resident's hash.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("join_code_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_user_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT join_code_failures.id, residents.line_user_id FROM join_code_failures"
            " JOIN residents ON residents.id = join_code_failures.resident_id"
        )
    ).all()
    for failure_id, line_user_id in rows:
        connection.execute(
            sa.text("UPDATE join_code_failures SET line_user_hash = :hash WHERE id = :id"),
            {"hash": hashlib.sha256(line_user_id.encode("utf-8")).hexdigest(), "id": failure_id},
        )
    with op.batch_alter_table("join_code_failures", schema=None) as batch_op:
        batch_op.alter_column("line_user_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index(batch_op.f("ix_join_code_failures_resident_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_join_code_failures_resident_id_residents"), type_="foreignkey"
        )
        batch_op.drop_column("resident_id")
        batch_op.create_index(
            batch_op.f("ix_join_code_failures_line_user_hash"), ["line_user_hash"], unique=False
        )


def downgrade() -> None:
    # A hash names no resident: the day's count is dropped, as the sweep would do by tomorrow.
    op.execute("DELETE FROM join_code_failures")
    with op.batch_alter_table("join_code_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_code_failures_line_user_hash"))
        batch_op.drop_column("line_user_hash")
        batch_op.add_column(sa.Column("resident_id", sa.Integer(), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_join_code_failures_resident_id_residents"),
            "residents",
            ["resident_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_join_code_failures_resident_id"), ["resident_id"], unique=False
        )
