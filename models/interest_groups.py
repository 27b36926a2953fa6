"""Interest groups (子ども会, 老人会, a festival's volunteers): residents who joined by a code,
inside one association or one district, and the circulars sent to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, District
from models.base import Base, utcnow
from models.types import enum_type

EXACTLY_ONE_AREA = (
    "(CASE WHEN association_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN district_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class Posters(enum.Enum):
    """Who may send circulars to an interest group (promoters and admins above it always may)."""

    officers = "officers"  # every officer of its association (a district's: its promoters)
    creator = "creator"  # only the staff member who created it


class InterestGroup(Base):
    """A group residents join by its code and leave when they like.

    「役員会」 is not a row: it is derived from the association's staff roles (targeting), so it
    can never disagree with who holds a role."""

    __tablename__ = "interest_groups"
    __table_args__ = (
        CheckConstraint(EXACTLY_ONE_AREA, name="exactly_one_area"),
        # NULLs are distinct: each pair forbids a name twice in the same area.
        UniqueConstraint("association_id", "name"),
        UniqueConstraint("district_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    posters: Mapped[Posters] = mapped_column(
        enum_type(Posters, "interest_posters"), default=Posters.officers
    )
    # Shown to staff and given out on paper: reusable, so kept as typed (like a join code).
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    association: Mapped[Association | None] = relationship()
    district: Mapped[District | None] = relationship()


class InterestMembership(Base):
    """One resident in one interest group; leaving deletes the row."""

    __tablename__ = "interest_memberships"
    __table_args__ = (UniqueConstraint("interest_group_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interest_group_id: Mapped[int] = mapped_column(
        ForeignKey("interest_groups.id", ondelete="CASCADE")
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    interest_group: Mapped[InterestGroup] = relationship()


class CircularInterestTarget(Base):
    """An interest group a circular goes to, or an association's 「役員会」 (its staff)."""

    __tablename__ = "circular_interest_targets"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN interest_group_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN staff_association_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_group",
        ),
        UniqueConstraint("circular_id", "interest_group_id"),
        UniqueConstraint("circular_id", "staff_association_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    interest_group_id: Mapped[int | None] = mapped_column(ForeignKey("interest_groups.id"))
    # 「役員会」: the officers and 班長 of this association who are residents.
    staff_association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"))

    interest_group: Mapped[InterestGroup | None] = relationship()
    staff_association: Mapped[Association | None] = relationship()
