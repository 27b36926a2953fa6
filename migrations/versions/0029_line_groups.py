"""the association's LINE group: linked groups, their link codes, circulars' posts there

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 14:30:00

Issue #23, item 3: a LINE group the bot was invited to is linked to an association by a
one-time code; a circular may also be posted there (circulars.line_group_post), each post a
push with its own retry key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POST_STATUS = sa.Enum(
    "pending",
    "in_flight",
    "accepted",
    "failed",
    "held",
    name="group_post_status",
    native_enum=False,
    create_constraint=True,
    length=20,
)


def upgrade() -> None:
    # ALTER TABLE, never a batch copy of `circulars`: on SQLite, whose migrations run with foreign
    # keys on, dropping the old table would cascade-delete its children (see 0028).
    op.add_column(
        "circulars",
        sa.Column("line_group_post", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "line_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_group_id", sa.String(length=33), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("left_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["associations.id"],
            name=op.f("fk_line_groups_association_id_associations"),
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["staff_members.id"],
            name=op.f("fk_line_groups_linked_by_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_groups")),
        sa.UniqueConstraint("line_group_id", name=op.f("uq_line_groups_line_group_id")),
    )
    op.create_index(op.f("ix_line_groups_association_id"), "line_groups", ["association_id"])
    op.create_table(
        "line_group_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["associations.id"],
            name=op.f("fk_line_group_codes_association_id_associations"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["staff_members.id"],
            name=op.f("fk_line_group_codes_issued_by_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_group_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_line_group_codes_code_hash")),
    )
    op.create_table(
        "group_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("line_group_id", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("retry_key", sa.Uuid(), nullable=False),
        sa.Column("status", POST_STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("line_request_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["circular_id"], ["circulars.id"], name=op.f("fk_group_posts_circular_id_circulars")
        ),
        sa.ForeignKeyConstraint(
            ["line_group_id"],
            ["line_groups.id"],
            name=op.f("fk_group_posts_line_group_id_line_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_posts")),
        sa.UniqueConstraint("retry_key", name=op.f("uq_group_posts_retry_key")),
        sa.UniqueConstraint(
            "circular_id", "line_group_id", name=op.f("uq_group_posts_circular_id_line_group_id")
        ),
    )
    op.create_index(op.f("ix_group_posts_status"), "group_posts", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_group_posts_status"), table_name="group_posts")
    op.drop_table("group_posts")
    op.drop_table("line_group_codes")
    op.drop_index(op.f("ix_line_groups_association_id"), table_name="line_groups")
    op.drop_table("line_groups")
    op.execute("ALTER TABLE circulars DROP COLUMN line_group_post")
