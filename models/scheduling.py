"""What the clock process keeps: who may tick, the officers' daily digests, and what is held for
the month's quota with the notices about it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.deliveries import BatchStatus
from models.types import enum_type


class SchedulerLease(Base):
    """One row per lease: the clock process holding it ticks, a second one started by mistake
    waits. Every send is guarded by a unique row anyway; the lease keeps the work single."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class OfficerDigest(Base):
    """The evening summary one officer gets on one day; sent like a batch of one."""

    __tablename__ = "officer_digests"
    __table_args__ = (UniqueConstraint("staff_member_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    # The Asia/Tokyo date the digest is for.
    day: Mapped[date]
    retry_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "digest_status"), default=BatchStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuotaHold(Base):
    """A circular's card or one of its follow-ups held for the month's quota, from the moment it
    was first held until it went or was no longer needed (`ended_at`). One open hold per
    circular × slot (the partial unique index): a clock that meets the same hold on every tick
    records it, and notifies about it, once."""

    __tablename__ = "quota_holds"
    __table_args__ = (
        Index(
            "uq_quota_holds_open",
            "circular_id",
            "slot",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"), index=True)
    # CARD, or the follow-up's slot ("reminder-1", "deadline", …).
    slot: Mapped[str] = mapped_column(String(20))
    # Messages it needed and the month had left when it was held, for the notice.
    needed: Mapped[int | None]
    available: Mapped[int | None]
    held_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class HoldNotice(Base):
    """The LINE message telling one staff member (the author, an admin) of one hold; sent like a
    batch of one, with its own retry key, so each learns of each hold exactly once."""

    __tablename__ = "hold_notices"
    __table_args__ = (UniqueConstraint("hold_id", "staff_member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("quota_holds.id"))
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    retry_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "hold_notice_status"), default=BatchStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
