"""What the engine reports: each circular's progress, the newest circulars with their delivery
counts, and the workers alive with their senders (each worker's heartbeat, read by /healthz)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    DeliveryWorker,
)

# A worker whose heartbeat is older than this is left out of `/healthz`; after a day, forgotten.
WORKER_GONE_AFTER = timedelta(seconds=10)
FORGET_WORKER_AFTER = timedelta(days=1)


# --- circulars ----------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Listed:
    circular: Circular
    deliveries: int
    sent: int


def list_circulars(
    session: Session,
    status: CircularStatus | None = None,
    limit: int = 50,
) -> list[Listed]:
    """The newest circulars with delivery counts (for `kairan circulars list`)."""
    query = select(Circular).order_by(Circular.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Circular.status == status)
    circulars = list(session.scalars(query))
    counts: dict[tuple[int, DeliveryStatus], int] = {}
    if circulars:
        for circular_id, state, count in session.execute(
            select(Delivery.circular_id, Delivery.status, func.count())
            .where(Delivery.circular_id.in_([c.id for c in circulars]))
            .group_by(Delivery.circular_id, Delivery.status)
        ):
            counts[(circular_id, state)] = count
    return [
        Listed(
            c,
            sum(v for (cid, _), v in counts.items() if cid == c.id),
            counts.get((c.id, DeliveryStatus.sent), 0),
        )
        for c in circulars
    ]


# --- workers ------------------------------------------------------------------------------------


def heartbeat(
    session: Session,
    clock: Clock,
    worker: str,
    senders: int,
    alive: int,
    claims: dict[str, int],
) -> None:
    """A worker is alive with `alive` of its `senders`, which hold `claims` (sender → batch id):
    those stay fresh however long LINE takes to answer."""
    now = clock.now()
    row = session.get(DeliveryWorker, worker)
    if row is None:
        row = DeliveryWorker(name=worker, started_at=now)
        session.add(row)
    row.heartbeat_at, row.senders, row.senders_alive = now, senders, alive
    if claims:
        session.execute(
            update(DeliveryBatch)
            .where(
                DeliveryBatch.id.in_(claims.values()),
                DeliveryBatch.status == BatchStatus.in_flight,
                DeliveryBatch.worker_id.in_(claims.keys()),
            )
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(DeliveryWorker).where(DeliveryWorker.heartbeat_at < now - FORGET_WORKER_AFTER)
    )
    session.flush()


def leave(session: Session, worker: str) -> None:
    """A worker that stops cleanly leaves `/healthz` at once."""
    session.execute(delete(DeliveryWorker).where(DeliveryWorker.name == worker))


@dataclass(frozen=True)
class Senders:
    """The delivery workers whose heartbeat is fresh, and their senders."""

    workers: int
    alive: int
    wanted: int


def senders(session: Session, clock: Clock) -> Senders:
    workers, alive, wanted = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(DeliveryWorker.senders_alive), 0),
            func.coalesce(func.sum(DeliveryWorker.senders), 0),
        ).where(DeliveryWorker.heartbeat_at >= clock.now() - WORKER_GONE_AFTER)
    ).one()
    return Senders(int(workers), int(alive), int(wanted))
