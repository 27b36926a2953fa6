"""What the clock process keeps: who may tick, and the officers' daily digests."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
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
