"""Bookkeeping: webhook events already handled, and the audit log of staff actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ProcessedWebhookEvent(Base):
    """A `webhookEventId` whose effect is committed: a redelivered copy is ignored."""

    __tablename__ = "processed_webhook_events"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    # Housekeeping deletes old ids; LINE stops redelivering long before.
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEntry(Base):
    """Who did what, for admins: composed, sent, cancelled, exported, changed a role."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    # Ids and counts only: never message text or personal data.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
