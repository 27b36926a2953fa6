"""staff terms and hand-overs: roles end by themselves; invites carry a name, a term end, their
inviter and the role they replace

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 10:00:00

Issue #20 items 3 and 4: promoters and officers invite the roles below them, a bulk import prints
invite letters addressed by name, every role may have an end date (the April hand-over), and a
hand-over code removes the predecessor's role when the successor redeems it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_roles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ends_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_staff_roles_ends_at"), ["ends_at"], unique=False)
    with op.batch_alter_table("staff_invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("invitee_name", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("role_ends_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("replaces_role_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_invites_invited_by_id_staff_members"),
            "staff_members",
            ["invited_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_invites_replaces_role_id_staff_roles"),
            "staff_roles",
            ["replaces_role_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_invites", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_staff_invites_replaces_role_id_staff_roles"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_staff_invites_invited_by_id_staff_members"), type_="foreignkey"
        )
        batch_op.drop_column("replaces_role_id")
        batch_op.drop_column("role_ends_at")
        batch_op.drop_column("invitee_name")
        batch_op.drop_column("invited_by_id")
    with op.batch_alter_table("staff_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_roles_ends_at"))
        batch_op.drop_column("ends_at")
