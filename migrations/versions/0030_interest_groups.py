"""interest groups, their members, and circulars sent to them

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 14:30:00

Issue #23, item 1: interest groups inside an association or a district, joined by a code and
left at will; a circular may go to interest groups and to an association's 「役員会」 (derived
from its staff roles, so no rows of members for it) alone or with areas.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTERS = sa.Enum(
    "officers",
    "creator",
    name="interest_posters",
    native_enum=False,
    create_constraint=True,
    length=20,
)


def upgrade() -> None:
    op.create_table(
        "interest_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("posters", POSTERS, nullable=False),
        sa.Column("join_code", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN association_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN district_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_interest_groups_exactly_one_area"),
        ),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["associations.id"],
            name=op.f("fk_interest_groups_association_id_associations"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_interest_groups_district_id_districts")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_members.id"],
            name=op.f("fk_interest_groups_created_by_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_groups")),
        sa.UniqueConstraint(
            "association_id", "name", name=op.f("uq_interest_groups_association_id_name")
        ),
        sa.UniqueConstraint(
            "district_id", "name", name=op.f("uq_interest_groups_district_id_name")
        ),
        sa.UniqueConstraint("join_code", name=op.f("uq_interest_groups_join_code")),
    )
    op.create_index(
        op.f("ix_interest_groups_association_id"), "interest_groups", ["association_id"]
    )
    op.create_index(op.f("ix_interest_groups_district_id"), "interest_groups", ["district_id"])
    op.create_table(
        "interest_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interest_group_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interest_group_id"],
            ["interest_groups.id"],
            name=op.f("fk_interest_memberships_interest_group_id_interest_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_interest_memberships_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_memberships")),
        sa.UniqueConstraint(
            "interest_group_id",
            "resident_id",
            name=op.f("uq_interest_memberships_interest_group_id_resident_id"),
        ),
    )
    op.create_index(
        op.f("ix_interest_memberships_resident_id"), "interest_memberships", ["resident_id"]
    )
    op.create_table(
        "circular_interest_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("interest_group_id", sa.Integer(), nullable=True),
        sa.Column("staff_association_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN interest_group_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN staff_association_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_circular_interest_targets_exactly_one_group"),
        ),
        sa.ForeignKeyConstraint(
            ["circular_id"],
            ["circulars.id"],
            name=op.f("fk_circular_interest_targets_circular_id_circulars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interest_group_id"],
            ["interest_groups.id"],
            name=op.f("fk_circular_interest_targets_interest_group_id_interest_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_association_id"],
            ["associations.id"],
            name=op.f("fk_circular_interest_targets_staff_association_id_associations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circular_interest_targets")),
        sa.UniqueConstraint(
            "circular_id",
            "interest_group_id",
            name=op.f("uq_circular_interest_targets_circular_id_interest_group_id"),
        ),
        sa.UniqueConstraint(
            "circular_id",
            "staff_association_id",
            name=op.f("uq_circular_interest_targets_circular_id_staff_association_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("circular_interest_targets")
    op.drop_index(op.f("ix_interest_memberships_resident_id"), table_name="interest_memberships")
    op.drop_table("interest_memberships")
    op.drop_index(op.f("ix_interest_groups_district_id"), table_name="interest_groups")
    op.drop_index(op.f("ix_interest_groups_association_id"), table_name="interest_groups")
    op.drop_table("interest_groups")
