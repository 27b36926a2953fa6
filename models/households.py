"""Households (世帯): LINE residents who live together, paper households per 班, proxy
confirmations by the 班長, and the watch-over (見守り) settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, Group
from models.base import Base, utcnow
from models.circulars import Circular
from models.residents import Resident
from models.staff import StaffMember


class Household(Base):
    """A household of LINE residents. A resident in none is a household of one; labelling one
    makes its row (households.labels)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The name staff know the household by (「3班 山田（12-3）」), set by an officer or the
    # 班長; shown to staff instead of LINE nicknames. Personal data (docs/privacy.md).
    label: Mapped[str | None] = mapped_column(String(40))
    label_set_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    label_set_at: Mapped[datetime | None]

    members: Mapped[list[HouseholdMember]] = relationship(back_populates="household")


class HouseholdMember(Base):
    """A resident's household: at most one, by the primary key."""

    __tablename__ = "household_members"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    household: Mapped[Household] = relationship(back_populates="members")
    resident: Mapped[Resident] = relationship()


class LabelRequest(Base):
    """A resident's 「表示名の変更」: at most one per resident. `label` is the text they asked
    for, waiting for an officer or the 班長; without one the bot is waiting for them to type it
    (since `prompted_at`)."""

    __tablename__ = "label_requests"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str | None] = mapped_column(String(40))
    requested_at: Mapped[datetime | None]
    prompted_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship()


class HouseholdInvite(Base):
    """A one-time code a resident sends to a family member. Only its SHA-256 is stored, as for
    staff invites: the code is high-entropy, so a leaked table lets nobody join."""

    __tablename__ = "household_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))

    household: Mapped[Household] = relationship()


class PaperHousehold(Base):
    """One household of a 班 that still gets the paper circular. `label` (a name, a house
    number) is for the 班長 and officers only; without one it is "paper household n"."""

    __tablename__ = "paper_households"
    __table_args__ = (Index("ix_paper_households_group_removed", "group_id", "removed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    position: Mapped[int]
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moved to LINE or away: kept, so past proxy confirmations still point at a row.
    removed_at: Mapped[datetime | None]

    group: Mapped[Group] = relationship()


class ProxyConfirmation(Base):
    """A 班長's 代理確認: this paper household has seen this circular."""

    __tablename__ = "proxy_confirmations"
    __table_args__ = (UniqueConstraint("circular_id", "paper_household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"), index=True)
    paper_household_id: Mapped[int] = mapped_column(ForeignKey("paper_households.id"))
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)

    circular: Mapped[Circular] = relationship()
    paper_household: Mapped[PaperHousehold] = relationship()
    confirmed_by: Mapped[StaffMember] = relationship()


class WatchOverSetting(Base):
    """An association that opted in to the watch-over hint (見守り): its 班長 see who has not
    confirmed the last `circular_count` circulars."""

    __tablename__ = "watch_over_settings"
    __table_args__ = (CheckConstraint("circular_count BETWEEN 1 AND 20", name="count_in_range"),)

    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"), primary_key=True)
    circular_count: Mapped[int] = mapped_column(default=3)
    enabled_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The circular that tells the residents registered before `enabled_at` (watch_over.announce);
    # those who registered later were told by the registration's reply.
    notice_circular_id: Mapped[int | None] = mapped_column(ForeignKey("circulars.id"))

    association: Mapped[Association] = relationship()


class WatchOverOptOut(Base):
    """A resident who asked never to appear in the watch-over list."""

    __tablename__ = "watch_over_opt_outs"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)
