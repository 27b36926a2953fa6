"""The delivery engine's steps. Each runs in its own transaction, committed by the caller:

    claim  → commit → send to LINE (no transaction open) → record → commit

A worker that dies anywhere leaves either a pending batch, or an in-flight one whose heartbeat
goes stale and which `recover_stale` puts back; resending it is safe because its retry key is the
one LINE already knows.
"""

from __future__ import annotations

import random as random_module
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linebot.v3.messaging import Message
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from broadcasts import translations
from broadcasts.clock import Clock
from broadcasts.line import SendOutcome
from broadcasts.messages import circular_card, unit_name
from broadcasts.reminders import reminder_message
from broadcasts.retry import Decision, Verdict, decide, key_still_safe
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    FollowStatus,
    Resident,
)

# A claim older than this belongs to a dead worker. A send is bounded by its timeout (13 s), so
# a live worker records long before; were it still sending, a resend is safe (same retry key).
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Claim:
    """A batch this worker holds, with everything the LINE call needs."""

    batch_id: int
    circular_id: int
    worker_id: str
    retry_key: uuid.UUID
    user_ids: list[str]
    messages: list[Message]
    unit: str


def claim_next(
    session: Session, clock: Clock, worker_id: str, public_url: str | None = None
) -> Claim | None:
    """Take the next due batch, or None when there is nothing to send now. `public_url`
    (KAIRAN_PUBLIC_URL) lets the card show the circular's first photo."""
    now = clock.now()
    while True:
        batch = session.scalars(_due_batches(session, now)).first()
        if batch is None:
            return None
        if not key_still_safe(batch.first_attempt_at, now):
            # The worker was away too long: LINE may have forgotten the key. A person decides.
            batch.status = BatchStatus.held
            batch.last_error = "retry key older than LINE keeps it; not resent"
            session.flush()
            continue
        if batch.attempts == 0:
            _skip_blocked(session, batch.id)
        user_ids = list(
            session.scalars(
                select(Resident.line_user_id)
                .join(Delivery, Delivery.resident_id == Resident.id)
                .where(Delivery.batch_id == batch.id, Delivery.status == DeliveryStatus.pending)
                .order_by(Delivery.id)
            )
        )
        if not user_ids:
            batch.status = BatchStatus.accepted
            batch.completed_at = now
            finish_if_done(session, clock, batch.circular_id)
            session.flush()
            continue
        batch.status = BatchStatus.in_flight
        batch.worker_id = worker_id
        batch.heartbeat_at = now
        batch.attempts += 1
        batch.first_attempt_at = batch.first_attempt_at or now
        circular = _circular(session, batch.circular_id)
        session.flush()
        return Claim(
            batch_id=batch.id,
            circular_id=circular.id,
            worker_id=worker_id,
            retry_key=batch.retry_key,
            user_ids=user_ids,
            messages=[
                message_for(
                    circular,
                    batch.slot,
                    public_url,
                    translations.version_in(circular, batch.language),
                )
            ],
            unit=unit_name(circular.id),
        )


def message_for(
    circular: Circular,
    slot: str,
    public_url: str | None = None,
    version: translations.Version | None = None,
) -> Message:
    """What a batch of `slot` carries: the card, or the reminder of that slot, with the text of
    the batch's version of the circular."""
    if slot == CARD:
        return circular_card(circular, public_url, version)
    return reminder_message(circular, slot, version)


def _due_batches(session: Session, now: datetime) -> Select[DeliveryBatch]:
    query = (
        select(DeliveryBatch)
        .join(Circular, Circular.id == DeliveryBatch.circular_id)
        .where(
            DeliveryBatch.status == BatchStatus.pending,
            or_(DeliveryBatch.next_attempt_at.is_(None), DeliveryBatch.next_attempt_at <= now),
            # A sent circular still has reminders to send.
            Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
            Circular.hold_reason.is_(None),
        )
        .order_by(DeliveryBatch.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several workers: each takes a different row. (SQLite runs one worker, see worker.py.)
        query = query.with_for_update(skip_locked=True, of=DeliveryBatch)
    return query


def _skip_blocked(session: Session, batch_id: int) -> None:
    """Residents who blocked the bot after the snapshot are skipped, not sent."""
    session.execute(
        update(Delivery)
        .where(
            Delivery.batch_id == batch_id,
            Delivery.status == DeliveryStatus.pending,
            Delivery.resident_id.in_(
                select(Resident.id).where(Resident.follow_status == FollowStatus.blocked)
            ),
        )
        .values(status=DeliveryStatus.skipped)
    )


def _circular(session: Session, circular_id: int) -> Circular:
    return session.scalars(
        select(Circular)
        .where(Circular.id == circular_id)
        .options(
            selectinload(Circular.options),
            selectinload(Circular.translations),
            selectinload(Circular.targets).selectinload(CircularTarget.district),
            selectinload(Circular.targets).selectinload(CircularTarget.association),
            selectinload(Circular.targets).selectinload(CircularTarget.group),
        )
    ).one()


def record(
    session: Session,
    clock: Clock,
    claim: Claim,
    outcome: SendOutcome,
    random: Callable[[], float] = random_module.random,
) -> Decision | None:
    """Apply LINE's answer to the batch and its deliveries; None when the claim was lost."""
    now = clock.now()
    batch = session.get_one(DeliveryBatch, claim.batch_id)
    if batch.status != BatchStatus.in_flight or batch.worker_id != claim.worker_id:
        # Recovered while this worker waited on LINE, and maybe claimed by another: whoever
        # holds it now records. Sending twice was safe (same key); recording twice would not be.
        return None
    assert batch.first_attempt_at is not None  # set by claim_next  # noqa: S101
    decision = decide(outcome, batch.attempts, batch.first_attempt_at, now, random)
    batch.worker_id = None
    batch.heartbeat_at = None
    batch.last_error = outcome.detail
    if outcome.request_id:
        batch.line_request_id = outcome.request_id
    pending_in_batch = (Delivery.batch_id == batch.id) & (Delivery.status == DeliveryStatus.pending)
    match decision.verdict:
        case Verdict.accepted:
            batch.status = BatchStatus.accepted
            batch.completed_at = now
            session.execute(
                update(Delivery)
                .where(pending_in_batch)
                .values(status=DeliveryStatus.sent, sent_at=now)
            )
        case Verdict.failed:
            batch.status = BatchStatus.failed
            batch.completed_at = now
            session.execute(
                update(Delivery)
                .where(pending_in_batch)
                .values(status=DeliveryStatus.failed, failure_reason=outcome.detail)
            )
        case Verdict.retry:
            batch.status = BatchStatus.pending
            batch.next_attempt_at = decision.retry_at
        case Verdict.held:
            batch.status = BatchStatus.held
        case Verdict.paused:
            batch.status = BatchStatus.pending
            circular = session.get_one(Circular, batch.circular_id)
            circular.hold_reason = _pause_reason(outcome)
    finish_if_done(session, clock, batch.circular_id)
    session.flush()
    return decision


def _pause_reason(outcome: SendOutcome) -> str:
    if outcome.detail and "monthly limit" in outcome.detail:
        return "今月のメッセージ上限に達したため、送信を一時停止しました（残りは未送信）"
    detail = outcome.detail or outcome.result.value
    return f"LINE が送信を受け付けませんでした（{detail}）。設定を確認してください"


def finish_if_done(session: Session, clock: Clock, circular_id: int) -> None:
    """A circular is sent once every batch of its card is accepted or failed."""
    session.flush()
    # Senders recording the circular's last batches at once must not each see the other's batch
    # still open: on PostgreSQL the circular's row lock makes them take turns, and the count
    # below then sees the other's committed batch. (SQLite's one writer already serialises them.)
    circular = session.scalars(
        select(Circular)
        .where(Circular.id == circular_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    open_batches = session.scalar(
        select(func.count())
        .select_from(DeliveryBatch)
        .where(
            DeliveryBatch.circular_id == circular_id,
            DeliveryBatch.slot == CARD,
            DeliveryBatch.status.in_(
                [BatchStatus.pending, BatchStatus.in_flight, BatchStatus.held]
            ),
        )
    )
    if open_batches == 0 and circular.status == CircularStatus.sending:
        circular.status = CircularStatus.sent
        circular.completed_at = clock.now()


def recover_stale(session: Session, clock: Clock, stale_after: timedelta = STALE_AFTER) -> int:
    """Put batches of dead workers back to pending; returns how many."""
    result = session.execute(
        update(DeliveryBatch)
        .where(
            DeliveryBatch.status == BatchStatus.in_flight,
            DeliveryBatch.heartbeat_at <= clock.now() - stale_after,
        )
        .values(status=BatchStatus.pending, worker_id=None, heartbeat_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def resume(session: Session, circular: Circular, remaining_quota: int | None) -> str | None:
    """Lift a pause (quota, token) once a person has fixed its cause; None when resumed, else why
    not."""
    if circular.status != CircularStatus.sending or circular.hold_reason is None:
        return "この回覧は一時停止していません"
    still_to_send = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.circular_id == circular.id, Delivery.status == DeliveryStatus.pending)
    )
    if remaining_quota is not None and remaining_quota < int(still_to_send or 0):
        return short_of_quota(int(still_to_send or 0), remaining_quota)
    circular.hold_reason = None
    session.flush()
    return None


def short_of_quota(needed: int, available: int) -> str:
    return f"今月のメッセージ残数が足りません（必要 {needed} 通、残り {max(available, 0)} 通）"


@dataclass(frozen=True)
class Progress:
    status: CircularStatus
    hold_reason: str | None
    deliveries: dict[str, int]
    batches: dict[str, int]


def progress(session: Session, circular_id: int) -> Progress:
    circular = session.get_one(Circular, circular_id)
    deliveries = dict.fromkeys((s.value for s in DeliveryStatus), 0)
    for status, count in session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.circular_id == circular_id, Delivery.slot == CARD)
        .group_by(Delivery.status)
    ):
        deliveries[status.value] = count
    batches = dict.fromkeys((s.value for s in BatchStatus), 0)
    for batch_status, count in session.execute(
        select(DeliveryBatch.status, func.count())
        .where(DeliveryBatch.circular_id == circular_id, DeliveryBatch.slot == CARD)
        .group_by(DeliveryBatch.status)
    ):
        batches[batch_status.value] = count
    return Progress(circular.status, circular.hold_reason, deliveries, batches)
