"""Reminders about a released circular: which are due, who gets each, and releasing them.

Each reminder slot of a circular ("reminder-1", "reminder-2", "deadline", "event", and a safety
check's "safety-1" … "safety-6") is released like the card itself — deliveries snapshotted into
batches with retry keys and sent by the worker — so a reminder inherits the engine's exactly-once
guarantee, and the unique delivery row per circular × resident × slot means no reminder can ever
be sent twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from broadcasts.circulars.release import snapshot
from broadcasts.core.clock import TOKYO, Clock
from broadcasts.delivery.monthly_quota import one_release_at_a_time, promised_elsewhere
from broadcasts.schedule.rules import QuietHours, allowed_at, reminder_slots, safety_slots
from models import (
    CARD,
    Acknowledgement,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    FollowStatus,
    Resident,
)

log = logging.getLogger(__name__)

# How long after release a circular can still get confirmation reminders; event and deadline
# reminders are found by their own dates.
REMINDER_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class DueReminder:
    circular_id: int
    slot: str
    due_at: datetime  # after quiet hours


def upcoming(circular: Circular, quiet: QuietHours) -> list[tuple[str, datetime]]:
    """The reminders this circular will get, each with the time it may go out."""
    if circular.released_at is None:
        return []
    return upcoming_if_released(circular, circular.released_at, quiet)


def upcoming_if_released(
    circular: Circular, released_at: datetime, quiet: QuietHours
) -> list[tuple[str, datetime]]:
    """`upcoming` for a circular released at `released_at` (the budget asks before release)."""
    return [
        (slot, allowed_at(due, quiet, circular.urgent))
        for slot, due in _applicable_slots(circular, released_at)
    ]


def scheduled(
    session: Session, circular: Circular, quiet: QuietHours
) -> list[tuple[str, datetime]]:
    """`upcoming`, or nothing once a released correction has taken the circular's place."""
    if session.scalar(select(_corrected()).where(Circular.id == circular.id)):
        return []
    return upcoming(circular, quiet)


def _corrected() -> ColumnElement[bool]:
    """A released correction (訂正) replaces its original: the reminders, and the dates they
    are about, are the correction's from then on."""
    correction = aliased(Circular)
    return exists().where(
        correction.corrects_id == Circular.id,
        correction.status.in_([CircularStatus.sending, CircularStatus.sent]),
    )


def follow_up_candidates(session: Session, now: datetime) -> list[Circular]:
    """Released circulars that may still get a follow-up: the only ones `due_reminders` and the
    month's budget need to read."""
    return list(
        session.scalars(
            select(Circular).where(
                Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
                Circular.released_at.is_not(None),
                ~_corrected(),
                or_(
                    Circular.released_at > now - REMINDER_WINDOW,
                    Circular.event_date >= (now.astimezone(TOKYO).date()),
                    Circular.answer_deadline > now,
                ),
            )
        )
    )


def released_slots(session: Session, circular_ids: list[int]) -> set[tuple[int, str]]:
    """The follow-up slots of these circulars already released (snapshotted)."""
    return set(
        session.execute(
            select(Delivery.circular_id, Delivery.slot)
            .where(Delivery.circular_id.in_(circular_ids), Delivery.slot != CARD)
            .distinct()
        ).all()
    )


def due_reminders(session: Session, now: datetime, quiet: QuietHours) -> list[DueReminder]:
    """Every reminder slot that is due now, not yet released, and not pointless."""
    candidates = follow_up_candidates(session, now)
    released = released_slots(session, [c.id for c in candidates])
    due: list[DueReminder] = []
    for circular in candidates:
        slots = dict(upcoming(circular, quiet))
        for slot, at in slots.items():
            if at > now or (circular.id, slot) in released:
                continue
            if pointless(circular, slot, slots, now):
                continue
            due.append(DueReminder(circular.id, slot, at))
    return due


def _applicable_slots(circular: Circular, released_at: datetime) -> list[tuple[str, datetime]]:
    if circular.safety_check:
        return safety_slots(released_at)
    return reminder_slots(
        released_at,
        circular.reminder_hours if circular.confirmation_required else [],
        circular.answer_deadline if circular.question else None,
        circular.event_date,
    )


def pointless(circular: Circular, slot: str, slots: dict[str, datetime], now: datetime) -> bool:
    """A reminder caught up late is skipped when a later one supersedes it or its moment is
    gone: a clock that was down sends each missed reminder once, never a burst."""
    for series in ("reminder-", "safety-"):
        if slot.startswith(series):
            later = f"{series}{int(slot.removeprefix(series)) + 1}"
            return later in slots and slots[later] <= now
    if slot == "deadline":
        return circular.answer_deadline is None or now >= circular.answer_deadline
    if slot == "event":
        return circular.event_date is None or now.astimezone(TOKYO).date() >= circular.event_date
    return True


def recipients(circular: Circular, slot: str) -> Select[int]:
    """Residents who got the card, still follow, and still need this reminder."""
    query = (
        select(Resident.id)
        .join(Delivery, Delivery.resident_id == Resident.id)
        .where(
            Delivery.circular_id == circular.id,
            Delivery.slot == CARD,
            Delivery.status == DeliveryStatus.sent,
            Resident.follow_status == FollowStatus.following,
        )
    )
    acknowledged = exists().where(
        Acknowledgement.circular_id == circular.id, Acknowledgement.resident_id == Resident.id
    )
    answered = exists().where(
        and_(
            Acknowledgement.circular_id == circular.id,
            Acknowledgement.resident_id == Resident.id,
            Acknowledgement.answered(),
        )
    )
    if slot.startswith("reminder-"):
        return query.where(~acknowledged)
    if slot == "deadline" or slot.startswith("safety-"):
        return query.where(~answered)
    return query


def release_reminder(session: Session, clock: Clock, due: DueReminder) -> int:
    """Snapshot the residents who need this reminder; returns how many."""
    circular = session.get_one(Circular, due.circular_id)
    snapshot(session, clock, circular.id, due.slot, recipients(circular, due.slot))
    count = int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.circular_id == circular.id, Delivery.slot == due.slot)
        )
        or 0
    )
    log.info("circular %d: %s released to %d residents", circular.id, due.slot, count)
    return count


@dataclass(frozen=True)
class Shortfall:
    """A follow-up the month's quota cannot carry whole: it needs `needed` messages, the month
    has `available` left once what is promised elsewhere has gone."""

    needed: int
    available: int


def release_follow_up(
    session: Session, clock: Clock, due: DueReminder, remaining_quota: int | None
) -> int | Shortfall:
    """Release a reminder (a deadline notice, a safety check's follow-up) like the card: whole
    or nothing. Returns how many residents it goes to, or the Shortfall when the quota left after
    what is promised elsewhere cannot cover them all: it stays due, and the next tick tries again.
    """
    if remaining_quota is not None:
        one_release_at_a_time(session)
        circular = session.get_one(Circular, due.circular_id)
        needed = int(
            session.scalar(
                select(func.count()).select_from(recipients(circular, due.slot).subquery())
            )
            or 0
        )
        available = remaining_quota - promised_elsewhere(session)
        if available < needed:
            return Shortfall(needed, available)
    return release_reminder(session, clock, due)
