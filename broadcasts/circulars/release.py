"""Releasing a circular: snapshot its recipients into deliveries, cut them into batches of at
most 500 with a retry key each, all in the caller's transaction.

The caller reads LINE's remaining quota first (a network call, outside any transaction) and
commits after: the keys are then stored before any request uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.snapshots import snapshot
from broadcasts.circulars.targeting import Target, reach, recipient_ids
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.delivery.messages import UnsendableCircular, circular_card
from broadcasts.delivery.steps import QUOTA_PAUSE, one_release_at_a_time, short_of_quota
from broadcasts.schedule.reminders import DueReminder, recipients, release_reminder
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
)

RELEASABLE = (CircularStatus.draft, CircularStatus.scheduled)


@dataclass(frozen=True)
class Release:
    released: bool
    recipients: int = 0
    batches: int = 0
    # Why it was not released, for the author (Japanese, shown as is).
    reason: str | None = None


def release(
    session: Session, clock: Clock, circular: Circular, remaining_quota: int | None
) -> Release:
    """Release `circular` now, or record why not and leave it releasable.

    `remaining_quota` is LINE's quota minus its consumption (None: no limit). Messages already
    promised to other circulars still sending are counted against it, so two releases cannot
    both spend the same quota.
    """
    one_release_at_a_time(session)
    # As it is now: another release may have committed while this one waited for the lock.
    status = session.scalar(select(Circular.status).where(Circular.id == circular.id))
    if status in (CircularStatus.sending, CircularStatus.sent):
        return Release(False, reason=StaffText("この回覧はすでに送信を始めています"))
    if status not in RELEASABLE:
        return Release(
            False,
            reason=StaffText(
                "この回覧は送信できる状態ではありません（%(status)s）",
                status=status.value if status else "",
            ),
        )
    target = Target.of_circular(circular)
    recipients = reach(session, target).quota_messages
    reason = _refusal(session, circular, target, recipients, remaining_quota)
    if reason is not None:
        circular.hold_reason = reason
        session.flush()
        return Release(False, recipients=recipients, reason=reason)

    now = clock.now()
    batches = snapshot(session, clock, circular.id, CARD, recipient_ids(target))
    circular.status = CircularStatus.sending
    circular.released_at = now
    circular.hold_reason = None
    session.flush()
    return Release(True, recipients=recipients, batches=batches)


def _refusal(
    session: Session,
    circular: Circular,
    target: Target,
    recipients: int,
    remaining_quota: int | None,
) -> str | None:
    if target.is_empty():
        return StaffText("届け先が選ばれていません")
    if recipients == 0:
        return StaffText("届け先に登録済みの住民がいません")
    try:
        circular_card(circular)
    except UnsendableCircular as error:
        return error.message
    if remaining_quota is not None:
        available = remaining_quota - promised_elsewhere(session)
        if available < recipients:
            return StaffText(
                "%(shortage)s。全員に届くまで送信しません",
                shortage=short_of_quota(recipients, available),
            )
    return None


OPEN_BATCHES = (BatchStatus.pending, BatchStatus.in_flight, BatchStatus.held)


def promised_elsewhere(session: Session) -> int:
    """Deliveries released but not yet accepted by LINE: they will use quota.

    Reached through the batches still open (an index starts with their status), so the count
    reads the deliveries waiting to be sent, not every delivery ever made: a pending delivery
    is always in an open batch, since closing a batch settles its pending deliveries.
    """
    count = session.scalar(
        select(func.count())
        .select_from(DeliveryBatch)
        .join(Delivery, Delivery.batch_id == DeliveryBatch.id)
        .where(DeliveryBatch.status.in_(OPEN_BATCHES), Delivery.status == DeliveryStatus.pending)
    )
    return int(count or 0)


def release_follow_up(
    session: Session, clock: Clock, due: DueReminder, remaining_quota: int | None
) -> int | None:
    """Release a reminder (a deadline notice, a safety check's follow-up) like the card: whole
    or nothing. Returns how many residents it goes to, or None when the quota left after what
    is promised elsewhere cannot cover them all: it stays due, and the next tick tries again.
    """
    if remaining_quota is not None:
        one_release_at_a_time(session)
        circular = session.get_one(Circular, due.circular_id)
        needed = session.scalar(
            select(func.count()).select_from(recipients(circular, due.slot).subquery())
        )
        if remaining_quota - promised_elsewhere(session) < int(needed or 0):
            return None
    return release_reminder(session, clock, due)


def quota_paused(session: Session) -> list[int]:
    """Circulars (their card, or a reminder of a sent one) paused by LINE's monthly limit, which
    the clock resumes by itself once the quota allows."""
    return list(
        session.scalars(
            select(Circular.id)
            .where(
                Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
                Circular.hold_reason == QUOTA_PAUSE,
            )
            .order_by(Circular.id)
        )
    )
