"""LINE's monthly message quota, on Kairan's side: what released circulars have been promised
and not yet sent, releases one at a time so that two cannot spend the same quota, the pause the
monthly limit causes, and lifting it once the quota covers what is left."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from broadcasts.core.i18n import StaffText
from models import (
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    GroupPost,
)

# The pause the monthly limit causes; the clock lifts it by itself once the quota covers what
# the circular still has to send (`resume`). Other pauses (a refused token) wait for a person.
QUOTA_PAUSE = StaffText("今月のメッセージ上限に達したため、送信を一時停止しました（残りは未送信）")
# Any constant of our own (pg_advisory_xact_lock takes a bigint): "kairan" in ASCII.
RELEASE_LOCK = 0x6B6169_72616E


def one_release_at_a_time(session: Session) -> None:
    """Hold the release lock until the caller's transaction ends: a release (or a resume) and its
    quota check then see every release committed before them, so two at once can neither
    both spend the same quota nor snapshot one circular twice. On PostgreSQL a transaction-level
    advisory lock; SQLite lets one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(RELEASE_LOCK)))


OPEN_BATCHES = (BatchStatus.pending, BatchStatus.in_flight, BatchStatus.held)


def promised_elsewhere(session: Session) -> int:
    """Deliveries and LINE-group posts released but not yet accepted by LINE: they will use
    quota (a group post one message per member)."""
    posts = session.scalar(
        select(func.coalesce(func.sum(GroupPost.members), 0)).where(
            GroupPost.status.in_(OPEN_BATCHES)
        )
    )
    return _pending_deliveries(session) + int(posts or 0)


def short_of_quota(needed: int, available: int) -> str:
    return StaffText(
        "今月のメッセージ残数が足りません（必要 %(needed)s 通、残り %(left)s 通）",
        needed=needed,
        left=max(available, 0),
    )


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


def resume(session: Session, circular: Circular, remaining_quota: int | None) -> str | None:
    """Lift a pause (quota, token) once its cause is gone; None when resumed, else why not.

    A sent circular is paused too when one of its reminders meets the monthly limit. Whole or
    nothing, as at release: the quota must cover everything the circular still has to send,
    besides what circulars not paused have been promised.
    """
    one_release_at_a_time(session)
    session.refresh(circular)
    paused = circular.status in (CircularStatus.sending, CircularStatus.sent)
    if not paused or circular.hold_reason is None:
        return StaffText("この回覧は一時停止していません")
    if remaining_quota is not None:
        still_to_send = _pending_deliveries(session, Circular.id == circular.id)
        others = _pending_deliveries(
            session, Circular.id != circular.id, Circular.hold_reason.is_(None)
        )
        if remaining_quota - others < still_to_send:
            return short_of_quota(still_to_send, remaining_quota - others)
    circular.hold_reason = None
    session.flush()
    return None


def _pending_deliveries(session: Session, *which: ColumnElement[bool]) -> int:
    """Deliveries still to send, of the circulars `which` selects (by default all).

    Reached through the batches still open (an index starts with their status), so the count
    reads the deliveries waiting to be sent, not every delivery ever made: a pending delivery
    is always in an open batch, since closing a batch settles its pending deliveries.
    """
    query = (
        select(func.count())
        .select_from(DeliveryBatch)
        .join(Delivery, Delivery.batch_id == DeliveryBatch.id)
        .where(DeliveryBatch.status.in_(OPEN_BATCHES), Delivery.status == DeliveryStatus.pending)
    )
    if which:
        query = query.join(Circular, Circular.id == DeliveryBatch.circular_id).where(*which)
    return int(session.scalar(query) or 0)
