"""The city's areas: school districts (校区), associations (自治会) and block groups (班)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.types import enum_type


class DistrictStatus(enum.Enum):
    """The city moves to LINE district by district (see broadcasts.rollout.activation)."""

    preparing = "preparing"  # residents may register; no circulars yet
    active = "active"  # circulars are composed and sent


class District(Base):
    """A school district (校区): the unit an ICT promoter serves."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(200))
    # Active unless set otherwise: the area import starts the districts it creates preparing.
    status: Mapped[DistrictStatus] = mapped_column(
        enum_type(DistrictStatus, "district_status"), default=DistrictStatus.active
    )
    activated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    associations: Mapped[list[Association]] = relationship(
        back_populates="district", order_by="Association.kana"
    )


class Association(Base):
    """A neighbourhood association (自治会・町内会) inside one district."""

    __tablename__ = "associations"
    __table_args__ = (
        CheckConstraint("household_count >= 0", name="household_count_not_negative"),
        CheckConstraint(
            "paper_household_count >= 0 AND paper_household_count <= household_count",
            name="paper_households_within_households",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(200))
    household_count: Mapped[int] = mapped_column(default=0)
    # Households that still get the paper circular; the officer keeps this up to date.
    paper_household_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    district: Mapped[District] = relationship(back_populates="associations")
    groups: Mapped[list[Group]] = relationship(
        back_populates="association", order_by="Group.position"
    )


class Group(Base):
    """A block group (班・組) inside an association; associations may have none."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("association_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The order the association lists its groups in (1班, 2班, …), kept from the import file.
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    association: Mapped[Association] = relationship(back_populates="groups")
