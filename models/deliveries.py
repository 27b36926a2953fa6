"""Deliveries (配信): one circular to one resident, sent to LINE in batches of at most 500."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.circulars import Circular
from models.residents import Resident
from models.types import enum_type


class BatchStatus(enum.Enum):
    pending = "pending"  # waiting for a worker (again, after a retryable failure)
    in_flight = "in_flight"  # claimed by a worker, which keeps its heartbeat fresh
    accepted = "accepted"  # LINE accepted the request (200, or 409 for a known retry key)
    failed = "failed"  # LINE refused the request (validation): nobody in it got anything
    held = "held"  # the retry key is older than LINE keeps it: a person decides


# What a delivery carries: the circular's card, or one of the scheduler's reminders about it.
CARD = "card"


class DeliveryBatch(Base):
    """One multicast request: up to 500 deliveries sharing one retry key."""

    __tablename__ = "delivery_batches"
    __table_args__ = (
        Index("ix_delivery_batches_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"), index=True)
    # CARD, or the reminder slot ("reminder-1", "deadline", "event", …) all its deliveries share.
    slot: Mapped[str] = mapped_column(String(20), default=CARD)
    # The language of the circular's text its residents get ("ja", or a translation's language).
    language: Mapped[str] = mapped_column(String(16), default="ja", server_default="ja")
    # Committed before the first call and reused for every retry: LINE then sends at most once.
    retry_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "batch_status"), default=BatchStatus.pending
    )
    # Claims by a worker, those that died with their worker included.
    attempts: Mapped[int] = mapped_column(default=0)
    # LINE's answers asking for a retry (5xx, 429, no answer in time): the back-off grows with
    # these, not with claims, so a batch whose workers were killed is not made to wait longer.
    line_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the earliest request LINE may have accepted under this key began: set by a claim,
    # cleared by an error LINE answered (5xx, 429, 4xx) to that same request (a 5xx's own
    # acceptance is dated by `server_errors`). A resident whose
    # unfollow was recorded before it got nothing from a request LINE later confirms with 409.
    maybe_accepted_since: Mapped[datetime | None]
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    # Requests LINE answered with a 5xx (x-line-request-id → when it began, ISO 8601): LINE may
    # have accepted one of them, and a 409 naming it dates the acceptance at its start.
    server_errors: Mapped[dict[str, str] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    circular: Mapped[Circular] = relationship()


class DeliveryStatus(enum.Enum):
    pending = "pending"  # snapshotted, its batch not yet accepted
    sent = "sent"  # LINE accepted the batch it was in
    skipped = "skipped"  # the resident blocked the bot before LINE accepted the batch
    failed = "failed"  # its batch failed; the reason is on the delivery


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # One card, and one of each reminder, per circular × resident: nothing is sent twice.
        # The resident comes first so that the same index finds a resident's own deliveries
        # (their archive, the watch-over); the circular's are found by the indexes below.
        UniqueConstraint("resident_id", "circular_id", "slot"),
        # The statistics read a circular's counts per area from this index alone (SQLite: a
        # covering index; PostgreSQL: an index-only scan once vacuumed), without joins.
        Index(
            "ix_deliveries_circular_area",
            "circular_id",
            "slot",
            "association_id",
            "group_id",
            "household_key",
            "status",
            "opened",
            "confirmed",
            "answered",
        ),
        # Households of several residents are counted per household (COUNT DISTINCT); the
        # residents who are a household of one, most of them, need not be read for that.
        Index(
            "ix_deliveries_circular_household",
            "circular_id",
            "slot",
            "household_key",
            "association_id",
            "group_id",
            "status",
            "confirmed",
            sqlite_where=text("household_key > 0"),
            postgresql_where=text("household_key > 0"),
        ),
        # The few that did not arrive, with their reasons, without reading the others.
        Index(
            "ix_deliveries_circular_lost",
            "circular_id",
            "slot",
            "status",
            "failure_reason",
            sqlite_where=text("status IN ('failed', 'skipped')"),
            postgresql_where=text("status IN ('failed', 'skipped')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: a release writes 100,000 deliveries in one INSERT … SELECT, and
    # PostgreSQL's per-row checks of them cost more than writing the rows. That statement
    # (snapshots.py) is the only writer: it takes each batch id from the batches it has just
    # made for this circular in the same transaction, and a batch's own foreign key holds its
    # circular, which therefore cannot be deleted while it has deliveries; it takes each
    # resident id from the residents it reads, and residents are never deleted (one who leaves
    # blocks the bot and keeps their row).
    circular_id: Mapped[int]
    resident_id: Mapped[int]
    slot: Mapped[str] = mapped_column(String(20), default=CARD)
    batch_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # The resident's registration and household when the delivery was written: a circular is
    # counted where it was sent, whatever the resident changes later. No foreign keys: they are
    # a record, and checking them would slow every snapshot. `household_key` is
    # `households.household_key()` then: the household's id, or the resident's id negated.
    # Written by the snapshot; a delivery written without it (NULL) gets it from the database
    # trigger of migration 0015.
    association_id: Mapped[int | None]
    group_id: Mapped[int | None]
    household_key: Mapped[int | None]
    # Whether an Open / an Acknowledgement (with an answer) exists for this card: copies of those
    # rows, kept by database triggers in the statement that writes them (migration 0015), so
    # that a circular's statistics are one pass over its deliveries. Always false on reminders.
    opened: Mapped[bool] = mapped_column(default=False, server_default=false())
    confirmed: Mapped[bool] = mapped_column(default=False, server_default=false())
    answered: Mapped[bool] = mapped_column(default=False, server_default=false())

    circular: Mapped[Circular] = relationship(
        primaryjoin="foreign(Delivery.circular_id) == Circular.id"
    )
    resident: Mapped[Resident] = relationship(
        primaryjoin="foreign(Delivery.resident_id) == Resident.id"
    )


class DeliveryWorker(Base):
    """A `kairan worker` process as its last heartbeat (every second) left it: for `/healthz`,
    and to keep the claims of its senders fresh while they wait on LINE."""

    __tablename__ = "delivery_workers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)
    # Sender threads it runs when healthy, and how many were alive at the heartbeat.
    senders: Mapped[int]
    senders_alive: Mapped[int]
