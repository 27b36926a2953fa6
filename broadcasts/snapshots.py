"""Snapshots: the residents a send goes to, frozen into deliveries and cut into batches.

Used by release (the card) and by the scheduler (reminders), so every message goes out through
the same rows, batches and retry keys.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, insert, literal, select, update
from sqlalchemy.orm import Session

from broadcasts.clock import Clock
from models import Delivery, DeliveryBatch, DeliveryStatus

BATCH_SIZE = 500  # LINE's multicast limit


def snapshot(
    session: Session, clock: Clock, circular_id: int, slot: str, residents: Select[int]
) -> int:
    """Deliveries of `slot` for the residents `residents` selects, in batches with their keys;
    returns the number of batches. One INSERT … SELECT, however many residents."""
    ids = residents.subquery()
    session.execute(
        insert(Delivery).from_select(
            ["circular_id", "resident_id", "slot", "status", "created_at"],
            select(
                literal(circular_id),
                ids.c.id,
                literal(slot),
                literal(DeliveryStatus.pending, Delivery.__table__.c.status.type),
                literal(clock.now(), Delivery.__table__.c.created_at.type),
            ),
        )
    )
    delivery_ids = session.scalars(
        select(Delivery.id)
        .where(Delivery.circular_id == circular_id, Delivery.slot == slot)
        .order_by(Delivery.id)
    ).all()
    chunks = [delivery_ids[i : i + BATCH_SIZE] for i in range(0, len(delivery_ids), BATCH_SIZE)]
    if not chunks:
        return 0
    batch_ids = session.scalars(
        insert(DeliveryBatch).returning(DeliveryBatch.id, sort_by_parameter_order=True),
        [{"circular_id": circular_id, "slot": slot, "retry_key": uuid.uuid4()} for _ in chunks],
    ).all()
    for batch_id, chunk in zip(batch_ids, chunks, strict=True):
        # The chunk is a run of this slot's delivery ids, so a range selects exactly it.
        session.execute(
            update(Delivery)
            .where(
                Delivery.circular_id == circular_id,
                Delivery.slot == slot,
                Delivery.id.between(chunk[0], chunk[-1]),
            )
            .values(batch_id=batch_id)
        )
    return len(chunks)
