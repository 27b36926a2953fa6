"""The officers' evening digest (19:00, Asia/Tokyo): for each officer, their associations'
circulars still open, counted as the dashboard counts them. One row per officer and day, pushed
by the clock with the row's retry key (broadcasts/delivery/pushes.py sends it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import TOKYO
from broadcasts.delivery.pushes import Push
from broadcasts.staff import terms
from broadcasts.staff.scope import Scope
from broadcasts.stats import circular_counts
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    OfficerDigest,
    Role,
    StaffMember,
    StaffRole,
)

CIRCULARS_WINDOW = timedelta(days=14)


def create(session: Session, day: date, now: datetime) -> None:
    """One digest row per officer (with a term running at `now`) for `day`; one with nothing
    open is closed without a message."""
    existing = set(
        session.scalars(select(OfficerDigest.staff_member_id).where(OfficerDigest.day == day))
    )
    officers = session.scalars(
        select(StaffRole.staff_member_id)
        .where(StaffRole.role == Role.officer, terms.in_force(now))
        .distinct()
    ).all()
    for member_id in officers:
        if member_id not in existing:
            session.add(OfficerDigest(staff_member_id=member_id, day=day))
    session.flush()


def next_due(session: Session, now: datetime) -> OfficerDigest | None:
    """The next of today's digests due."""
    return session.scalars(
        select(OfficerDigest)
        .where(
            OfficerDigest.status == BatchStatus.pending,
            OfficerDigest.day == now.astimezone(TOKYO).date(),
            or_(OfficerDigest.next_attempt_at.is_(None), OfficerDigest.next_attempt_at <= now),
        )
        .order_by(OfficerDigest.id)
        .limit(1)
    ).first()


def push(session: Session, digest: OfficerDigest, dashboard_url: str) -> Push:
    """The digest's message; nothing (closed without a message) when nothing is open."""
    from linebot.v3.messaging import TextMessage

    member = session.get_one(StaffMember, digest.staff_member_id)
    text = digest_text(session, member, digest.day, dashboard_url)
    if text is None:
        return Push(skip="nothing open")
    return Push(member.line_user_id, [TextMessage(text=text)])


def digest_text(session: Session, member: StaffMember, day: date, dashboard_url: str) -> str | None:
    """The officer's evening summary: their associations' circulars still open, counted as the
    dashboard counts them (`circular_counts.summary`). None: nothing to say today."""
    associations = frozenset(
        r.association_id for r in member.roles if r.role == Role.officer and r.association_id
    )
    scope = Scope(member.id, association_ids=associations)
    since = datetime.combine(day, datetime.min.time(), TOKYO) - CIRCULARS_WINDOW
    reached = select(Delivery.circular_id).where(Delivery.slot == CARD, scope.deliveries())
    circulars = session.scalars(
        select(Circular)
        .where(
            Circular.id.in_(reached),
            Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
            Circular.released_at >= since,
        )
        .order_by(Circular.released_at.desc())
        .limit(5)
    ).all()
    lines: list[str] = []
    for circular in circulars:
        counts = circular_counts.summary(session, circular.id, scope)
        lines.append(
            f"・{circular.title}：届いた {counts.delivered}人、見た {counts.opened}人、"
            f"確認 {counts.confirmed}人"
        )
    if not lines:
        return None
    return "\n".join(["【回覧の状況】今日の時点", *lines, f"くわしくは管理画面で：{dashboard_url}"])
