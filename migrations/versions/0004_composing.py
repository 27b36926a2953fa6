"""composing: LINE compose sessions, corrections (corrects_id) and urgent circulars

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        # server_default fills existing rows; the model sets the value on every insert.
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("corrects_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_circulars_corrects_id"), ["corrects_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_circulars_corrects_id_circulars"), "circulars", ["corrects_id"], ["id"]
        )
    op.create_table(
        "compose_sessions",
        sa.Column("staff_member_id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "title",
                "body",
                "photos",
                "target",
                "question",
                "options",
                "deadline",
                "event_date",
                "confirmation",
                "preview",
                "schedule",
                name="compose_step",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("browsing", sa.String(length=40), server_default="", nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["circular_id"],
            ["circulars.id"],
            name=op.f("fk_compose_sessions_circular_id_circulars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_members.id"],
            name=op.f("fk_compose_sessions_staff_member_id_staff_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_member_id", name=op.f("pk_compose_sessions")),
    )
    op.create_index(
        op.f("ix_compose_sessions_circular_id"), "compose_sessions", ["circular_id"], unique=False
    )
    op.create_index(
        op.f("ix_compose_sessions_updated_at"), "compose_sessions", ["updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_compose_sessions_updated_at"), table_name="compose_sessions")
    op.drop_index(op.f("ix_compose_sessions_circular_id"), table_name="compose_sessions")
    op.drop_table("compose_sessions")
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_circulars_corrects_id_circulars"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_circulars_corrects_id"))
        batch_op.drop_column("corrects_id")
        batch_op.drop_column("urgent")
