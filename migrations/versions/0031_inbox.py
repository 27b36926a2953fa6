"""residents write to their association: inbox threads, messages, pushes and the prompt

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02 14:30:00

Issue #23, item 2: a resident's 「自治会へ」 message (and a photo) becomes a thread its association's officers
see and answer on the dashboard; the officers' short notice and the answer to the resident are
each pushed once with their own retry key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table(
        "inbox_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column(
            "status", _enum("inbox_thread_status", "open", "in_progress", "done"), nullable=False
        ),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_set_by_id", sa.Integer(), nullable=True),
        sa.Column("status_set_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["associations.id"],
            name=op.f("fk_inbox_threads_association_id_associations"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_inbox_threads_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["status_set_by_id"],
            ["staff_members.id"],
            name=op.f("fk_inbox_threads_status_set_by_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_threads")),
    )
    op.create_index(
        "ix_inbox_threads_list", "inbox_threads", ["association_id", "status", "updated_at"]
    )
    op.create_index(op.f("ix_inbox_threads_resident_id"), "inbox_threads", ["resident_id"])
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("photo_name", sa.String(length=100), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["inbox_threads.id"],
            name=op.f("fk_inbox_messages_thread_id_inbox_threads"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_inbox_messages_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["staff_members.id"],
            name=op.f("fk_inbox_messages_answered_by_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
    )
    op.create_index(op.f("ix_inbox_messages_thread_id"), "inbox_messages", ["thread_id"])
    op.create_index(op.f("ix_inbox_messages_resident_id"), "inbox_messages", ["resident_id"])
    op.create_table(
        "inbox_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column("retry_key", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            _enum("inbox_push_status", "pending", "in_flight", "accepted", "failed", "held"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("line_request_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbox_messages.id"],
            name=op.f("fk_inbox_pushes_message_id_inbox_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_members.id"],
            name=op.f("fk_inbox_pushes_staff_member_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_pushes")),
        sa.UniqueConstraint("retry_key", name=op.f("uq_inbox_pushes_retry_key")),
    )
    op.create_index(op.f("ix_inbox_pushes_message_id"), "inbox_pushes", ["message_id"])
    op.create_index(op.f("ix_inbox_pushes_status"), "inbox_pushes", ["status"])
    op.create_table(
        "inbox_prompts",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("prompted_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_inbox_prompts_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_inbox_prompts")),
    )


def downgrade() -> None:
    op.drop_table("inbox_prompts")
    op.drop_index(op.f("ix_inbox_pushes_status"), table_name="inbox_pushes")
    op.drop_index(op.f("ix_inbox_pushes_message_id"), table_name="inbox_pushes")
    op.drop_table("inbox_pushes")
    op.drop_index(op.f("ix_inbox_messages_resident_id"), table_name="inbox_messages")
    op.drop_index(op.f("ix_inbox_messages_thread_id"), table_name="inbox_messages")
    op.drop_table("inbox_messages")
    op.drop_index(op.f("ix_inbox_threads_resident_id"), table_name="inbox_threads")
    op.drop_index("ix_inbox_threads_list", table_name="inbox_threads")
    op.drop_table("inbox_threads")
