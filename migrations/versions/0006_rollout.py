"""rollout: district status and welcomes, join codes, circular templates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:02:14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "circular_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=True),
        sa.Column("event_days", sa.Integer(), nullable=True),
        sa.Column("confirmation_required", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_members.id"],
            name=op.f("fk_circular_templates_created_by_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_circular_templates_district_id_districts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circular_templates")),
        sa.UniqueConstraint("key", name=op.f("uq_circular_templates_key")),
    )
    with op.batch_alter_table("circular_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_circular_templates_district_id"), ["district_id"], unique=False
        )

    op.create_table(
        "join_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["associations.id"],
            name=op.f("fk_join_codes_association_id_associations"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_join_codes_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_join_codes_code")),
    )
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_join_codes_association_id"), ["association_id"], unique=False
        )

    op.create_table(
        "district_welcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("retry_key", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_flight",
                "accepted",
                "failed",
                "held",
                name="welcome_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("line_request_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_district_welcomes_district_id_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_district_welcomes_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_welcomes")),
        sa.UniqueConstraint(
            "district_id", "resident_id", name=op.f("uq_district_welcomes_district_id_resident_id")
        ),
        sa.UniqueConstraint("retry_key", name=op.f("uq_district_welcomes_retry_key")),
    )
    with op.batch_alter_table("district_welcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_district_welcomes_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_district_welcomes_status"), ["status"], unique=False)

    op.create_table(
        "join_code_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_join_code_failures_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_code_failures")),
    )
    with op.batch_alter_table("join_code_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_join_code_failures_resident_id"), ["resident_id"], unique=False
        )

    # Districts that exist already were live before this migration: they stay active.
    with op.batch_alter_table("districts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "preparing",
                    "active",
                    name="district_status",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                nullable=False,
                server_default="active",
            )
        )
        batch_op.add_column(
            sa.Column("activated_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("districts", schema=None) as batch_op:
        batch_op.drop_column("activated_at")
        batch_op.drop_constraint(batch_op.f("ck_districts_district_status"), type_="check")
        batch_op.drop_column("status")

    with op.batch_alter_table("join_code_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_code_failures_resident_id"))

    op.drop_table("join_code_failures")
    with op.batch_alter_table("district_welcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_district_welcomes_status"))
        batch_op.drop_index(batch_op.f("ix_district_welcomes_resident_id"))

    op.drop_table("district_welcomes")
    with op.batch_alter_table("join_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_codes_association_id"))

    op.drop_table("join_codes")
    with op.batch_alter_table("circular_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circular_templates_district_id"))

    op.drop_table("circular_templates")
