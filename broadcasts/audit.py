"""The audit log: who composed, sent, cancelled, exported or changed a role, and when.

Entries carry ids and counts only, never text or personal data (see models.AuditEntry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.clock import Clock
from models import AuditEntry, StaffMember

ACTIONS = (
    "circular.composed",
    "circular.scheduled",
    "circular.sent",
    "circular.cancelled",
    "export.circular",
    "export.reach",
    "role.invited",
    "role.removed",
    "role.granted",
    "association.paper_households",
    "district.activated",
    "district.prepared",
    "join_code.rotated",
    "template.saved",
    "template.shared",
    "export.adoption",
    "group.paper_households",
    "association.watch_over",
    "paper.proxy_confirmed",
    "paper.proxy_undone",
)

Detail = int | str | bool | None


def record(
    session: Session,
    clock: Clock,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    **details: Detail,
) -> AuditEntry:
    """Add one entry to the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=dict(details),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Shown:
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    subject_type: str
    subject_id: int | None
    details: dict[str, Detail]


def latest(session: Session, limit: int = 200, offset: int = 0) -> Sequence[Shown]:
    rows = session.execute(
        select(AuditEntry, StaffMember.display_name)
        .outerjoin(StaffMember, StaffMember.id == AuditEntry.actor_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        Shown(e.at, e.actor_id, name, e.action, e.subject_type, e.subject_id, dict(e.details))
        for e, name in rows
    ]
