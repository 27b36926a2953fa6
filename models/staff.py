"""Staff: LINE users who hold a role — admin (city), promoter (district), officer (association),
block leader (班)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, District, Group
from models.base import Base, utcnow
from models.types import enum_type


class Role(enum.Enum):
    admin = "admin"  # 管理者: the whole city
    promoter = "promoter"  # ICT推進員: one district
    officer = "officer"  # 自治会役員: one association
    group_leader = "group_leader"  # 班長: one group (班)


class StaffMember(Base):
    """A person who works in the dashboard; they may also be a resident."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(33), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[StaffRole]] = relationship(back_populates="staff_member")


SCOPE_MATCHES_ROLE = (
    "(role = 'admin' AND district_id IS NULL AND association_id IS NULL AND group_id IS NULL)"
    " OR (role = 'promoter' AND district_id IS NOT NULL AND association_id IS NULL"
    " AND group_id IS NULL)"
    " OR (role = 'officer' AND district_id IS NULL AND association_id IS NOT NULL"
    " AND group_id IS NULL)"
    " OR (role = 'group_leader' AND district_id IS NULL AND association_id IS NULL"
    " AND group_id IS NOT NULL)"
)


class StaffRole(Base):
    """One role of one staff member, with the area it covers."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        CheckConstraint(SCOPE_MATCHES_ROLE, name="scope_matches_role"),
        UniqueConstraint("staff_member_id", "district_id"),
        UniqueConstraint("staff_member_id", "association_id"),
        UniqueConstraint("staff_member_id", "group_id"),
        # NULL scopes are distinct in unique constraints, so "admin once" needs a partial index.
        Index(
            "uq_staff_roles_one_admin",
            "staff_member_id",
            unique=True,
            sqlite_where=text("role = 'admin'"),
            postgresql_where=text("role = 'admin'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The end of the term (aware UTC): from then on the role grants nothing, and the clock
    # removes it. None: no end date (an admin, a promoter without a term).
    ends_at: Mapped[datetime | None] = mapped_column(index=True)

    staff_member: Mapped[StaffMember] = relationship(back_populates="roles")
    district: Mapped[District | None] = relationship()
    association: Mapped[Association | None] = relationship()
    group: Mapped[Group | None] = relationship()


class StaffInvite(Base):
    """A one-time code that gives the LINE account which sends it to the bot a role.

    Only a SHA-256 of the code is stored: the code is high-entropy (80 random bits), so a hash
    without salt cannot be reversed, and a leaked table grants nothing.
    """

    __tablename__ = "staff_invites"
    __table_args__ = (CheckConstraint(SCOPE_MATCHES_ROLE, name="scope_matches_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    # Who made the code (None: a server command); the name the letter is addressed to (from a
    # bulk import); the role's term end, carried to the role on redemption.
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    invitee_name: Mapped[str | None] = mapped_column(String(100))
    role_ends_at: Mapped[datetime | None]
    # A hand-over: the role this code replaces. Redeeming it removes that role (the predecessor
    # keeps no access); if the role ended or was removed meanwhile, the code still appoints.
    replaces_role_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_roles.id", ondelete="SET NULL")
    )

    district: Mapped[District | None] = relationship()
    association: Mapped[Association | None] = relationship()
    group: Mapped[Group | None] = relationship()
