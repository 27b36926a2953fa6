"""households, paper households per 班, proxy confirmations, the 班長 role, watch-over

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25 04:02:38.247222
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The enums are VARCHAR with a CHECK (models.types.enum_type): a new value is a new CHECK.
ROLE_OLD = "role IN ('admin', 'promoter', 'officer')"
ROLE_NEW = "role IN ('admin', 'promoter', 'officer', 'group_leader')"
CHANNEL_OLD = "channel IN ('line', 'web')"
CHANNEL_NEW = "channel IN ('line', 'web', 'household')"
SCOPE_OLD = (
    "(role = 'admin' AND district_id IS NULL AND association_id IS NULL)"
    " OR (role = 'promoter' AND district_id IS NOT NULL AND association_id IS NULL)"
    " OR (role = 'officer' AND district_id IS NULL AND association_id IS NOT NULL)"
)
SCOPE_NEW = models.staff.SCOPE_MATCHES_ROLE


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    op.create_table(
        "watch_over_settings",
        sa.Column("association_id", sa.Integer(), nullable=False),
        sa.Column("circular_count", sa.Integer(), nullable=False),
        sa.Column("enabled_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "circular_count BETWEEN 1 AND 20", name=op.f("ck_watch_over_settings_count_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["associations.id"],
            name=op.f("fk_watch_over_settings_association_id_associations"),
        ),
        sa.PrimaryKeyConstraint("association_id", name=op.f("pk_watch_over_settings")),
    )
    op.create_table(
        "paper_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_paper_households_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_households")),
    )
    with op.batch_alter_table("paper_households", schema=None) as batch_op:
        batch_op.create_index(
            "ix_paper_households_group_removed", ["group_id", "removed_at"], unique=False
        )

    op.create_table(
        "household_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["residents.id"],
            name=op.f("fk_household_invites_created_by_id_residents"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_invites_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["used_by_id"], ["residents.id"], name=op.f("fk_household_invites_used_by_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_household_invites_code_hash")),
    )
    with op.batch_alter_table("household_invites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_invites_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "household_members",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_members_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_household_members_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_household_members")),
    )
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_members_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "proxy_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("paper_household_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["circular_id"],
            ["circulars.id"],
            name=op.f("fk_proxy_confirmations_circular_id_circulars"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["staff_members.id"],
            name=op.f("fk_proxy_confirmations_confirmed_by_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["paper_household_id"],
            ["paper_households.id"],
            name=op.f("fk_proxy_confirmations_paper_household_id_paper_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_confirmations")),
        sa.UniqueConstraint(
            "circular_id",
            "paper_household_id",
            name=op.f("uq_proxy_confirmations_circular_id_paper_household_id"),
        ),
    )
    with op.batch_alter_table("proxy_confirmations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proxy_confirmations_circular_id"), ["circular_id"], unique=False
        )

    op.create_table(
        "watch_over_opt_outs",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("opted_out_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_watch_over_opt_outs_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_watch_over_opt_outs")),
    )
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("one_per_household", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_acknowledgements_channel"), type_="check")
        batch_op.create_check_constraint("channel", CHANNEL_NEW)

    for table in ("staff_invites", "staff_roles"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_group_id_groups", "groups", ["group_id"], ["id"]
            )
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_role"), type_="check")
            batch_op.create_check_constraint("role", ROLE_NEW)
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_scope_matches_role"), type_="check")
            batch_op.create_check_constraint("scope_matches_role", SCOPE_NEW)
            if table == "staff_roles":
                batch_op.create_unique_constraint(
                    "uq_staff_roles_staff_member_id_group_id", ["staff_member_id", "group_id"]
                )


def downgrade() -> None:
    op.execute("DELETE FROM staff_roles WHERE role = 'group_leader'")
    op.execute("DELETE FROM staff_invites WHERE role = 'group_leader'")
    for table in ("staff_roles", "staff_invites"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "staff_roles":
                batch_op.drop_constraint(
                    batch_op.f("uq_staff_roles_staff_member_id_group_id"), type_="unique"
                )
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_scope_matches_role"), type_="check")
            batch_op.create_check_constraint("scope_matches_role", SCOPE_OLD)
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_role"), type_="check")
            batch_op.create_check_constraint("role", ROLE_OLD)
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_group_id_groups"), type_="foreignkey")
            batch_op.drop_column("group_id")

    op.execute("UPDATE acknowledgements SET channel = 'line' WHERE channel = 'household'")
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_acknowledgements_channel"), type_="check")
        batch_op.create_check_constraint("channel", CHANNEL_OLD)

    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.drop_column("one_per_household")

    op.drop_table("watch_over_opt_outs")
    with op.batch_alter_table("proxy_confirmations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proxy_confirmations_circular_id"))

    op.drop_table("proxy_confirmations")
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_members_household_id"))

    op.drop_table("household_members")
    with op.batch_alter_table("household_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_invites_household_id"))

    op.drop_table("household_invites")
    with op.batch_alter_table("paper_households", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_households_group_removed")

    op.drop_table("paper_households")
    op.drop_table("watch_over_settings")
    op.drop_table("households")
