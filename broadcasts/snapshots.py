"""Snapshots: the residents a send goes to, frozen into deliveries and cut into batches.

Used by release (the card) and by the scheduler (reminders), so every message goes out through
the same rows, batches and retry keys.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, insert, literal, select
from sqlalchemy.orm import Session

from broadcasts.clock import Clock
from models import Delivery, DeliveryBatch, DeliveryStatus

BATCH_SIZE = 500  # LINE's multicast limit


def snapshot(
    session: Session, clock: Clock, circular_id: int, slot: str, residents: Select[int]
) -> int:
    """Deliveries of `slot` for the residents `residents` selects, in batches with their keys;
    returns the number of batches.

    The batches are made first, then one INSERT … SELECT writes every delivery with its batch:
    the n-th run of 500 residents (in id order) goes to the n-th batch. No row is written twice,
    which on PostgreSQL would mean a second tuple and index entries for each of 100,000 rows.
    """
    ids = residents.subquery()
    count = int(session.scalar(select(func.count()).select_from(ids)) or 0)
    batches = -(-count // BATCH_SIZE)
    if batches == 0:
        return 0
    session.execute(
        insert(DeliveryBatch),
        [
            {"circular_id": circular_id, "slot": slot, "retry_key": uuid.uuid4()}
            for _ in range(batches)
        ],
    )
    numbered = select(
        ids.c.id,
        ((func.row_number().over(order_by=ids.c.id) - 1) // BATCH_SIZE).label("n"),
    ).subquery()
    batch_numbers = (
        select(
            DeliveryBatch.id,
            (func.row_number().over(order_by=DeliveryBatch.id) - 1).label("n"),
        )
        .where(DeliveryBatch.circular_id == circular_id, DeliveryBatch.slot == slot)
        .subquery()
    )
    # A resident who registered between the count and this statement has no batch and is left
    # out, as if they had registered a moment later; one who left leaves a batch short or empty,
    # which the worker closes without a call.
    session.execute(
        insert(Delivery).from_select(
            ["circular_id", "resident_id", "slot", "status", "created_at", "batch_id"],
            select(
                literal(circular_id),
                numbered.c.id,
                literal(slot),
                literal(DeliveryStatus.pending, Delivery.__table__.c.status.type),
                literal(clock.now(), Delivery.__table__.c.created_at.type),
                batch_numbers.c.id,
            ).join(batch_numbers, batch_numbers.c.n == numbered.c.n),
        )
    )
    return batches
