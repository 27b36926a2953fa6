"""Delivery and clock figures, read in one short transaction, and the health verdict on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.schedule.jobs import last_tick
from models import BatchStatus, Circular, CircularStatus, Delivery, DeliveryBatch

# The clock ticks every 30 s: ten missed ticks mean it is stopped or stuck.
CLOCK_SILENT_AFTER = timedelta(minutes=5)
# A due batch goes out within seconds while a worker runs.
BATCH_WAITING_AFTER = timedelta(minutes=10)

SENDING = (CircularStatus.sending, CircularStatus.sent)


@dataclass(frozen=True)
class Figures:
    # Multicast requests by status, every status named (0 when none).
    batches: dict[BatchStatus, int]
    # Deliveries in batches waiting for a worker, and in batches a worker is sending.
    deliveries_pending: int
    deliveries_in_flight: int
    # LINE's answers asking for a retry (5xx, 429, no answer in time), over every batch.
    line_retries: int
    # Since when the batch that has waited longest for a worker has been due; None: none is.
    oldest_due_since: datetime | None
    # Circulars whose sending waits for a person (quota used up, token refused).
    circulars_paused: int
    # When the clock process last took its lease (each tick does); None: no clock is running.
    last_tick: datetime | None


def read(session: Session, clock: Clock) -> Figures:
    now = clock.now()
    batches = dict.fromkeys(BatchStatus, 0)
    for status, count in session.execute(
        select(DeliveryBatch.status, func.count()).group_by(DeliveryBatch.status)
    ):
        batches[status] = int(count)
    waiting = {
        status: int(count)
        for status, count in session.execute(
            select(DeliveryBatch.status, func.count(Delivery.id))
            .join(Delivery, Delivery.batch_id == DeliveryBatch.id)
            .where(DeliveryBatch.status.in_([BatchStatus.pending, BatchStatus.in_flight]))
            .group_by(DeliveryBatch.status)
        )
    }
    paused = session.scalar(
        select(func.count())
        .select_from(Circular)
        .where(Circular.status.in_(SENDING), Circular.hold_reason.is_not(None))
    )
    retries = session.scalar(select(func.coalesce(func.sum(DeliveryBatch.line_failures), 0)))
    return Figures(
        batches=batches,
        deliveries_pending=int(waiting.get(BatchStatus.pending, 0)),
        deliveries_in_flight=int(waiting.get(BatchStatus.in_flight, 0)),
        line_retries=int(retries or 0),
        oldest_due_since=oldest_due_since(session, now),
        circulars_paused=int(paused or 0),
        last_tick=last_tick(session),
    )


def oldest_due_since(session: Session, now: datetime) -> datetime | None:
    # Due as the worker's claim sees it (delivery/steps.py): a batch backing off, or whose
    # circular is paused or held, is not waiting for a worker.
    due_since = func.coalesce(DeliveryBatch.next_attempt_at, DeliveryBatch.created_at)
    oldest = session.scalar(
        select(func.min(due_since))
        .join(Circular, Circular.id == DeliveryBatch.circular_id)
        .where(
            DeliveryBatch.status == BatchStatus.pending,
            or_(DeliveryBatch.next_attempt_at.is_(None), DeliveryBatch.next_attempt_at <= now),
            Circular.status.in_(SENDING),
            Circular.hold_reason.is_(None),
        )
    )
    return _aware(oldest)


def problems(session: Session, clock: Clock) -> list[str]:
    """Why Kairan is degraded (empty: it is not): the two figures `/healthz` judges."""
    now = clock.now()
    return verdict(last_tick(session), oldest_due_since(session, now), now)


def verdict(ticked: datetime | None, due_since: datetime | None, now: datetime) -> list[str]:
    """The reasons, each one English line for operators."""
    reasons = []
    if ticked is None:
        reasons.append("the clock is not running (no tick recorded)")
    elif now - ticked > CLOCK_SILENT_AFTER:
        reasons.append(f"the clock has not ticked for {_minutes(now - ticked)} minutes")
    if due_since is not None and now - due_since > BATCH_WAITING_AFTER:
        reasons.append(f"a delivery batch has waited {_minutes(now - due_since)} minutes")
    return reasons


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _aware(moment: datetime | None) -> datetime | None:
    """MIN() over the UTC column comes back without the column's type (naive on SQLite)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
