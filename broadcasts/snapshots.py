"""Snapshots: the residents a send goes to, frozen into deliveries and cut into batches.

Used by release (the card) and by the scheduler (reminders), so every message goes out through
the same rows, batches and retry keys.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, insert, literal, select, update
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
    in_slot = (Delivery.circular_id == circular_id) & (Delivery.slot == slot)
    count = int(session.scalar(select(func.count()).select_from(Delivery).where(in_slot)) or 0)
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
    # The n-th run of 500 deliveries (in id order) goes to the n-th batch, in one UPDATE … FROM:
    # one statement however many batches, each row found by its primary key.
    numbered = (
        select(
            Delivery.id,
            ((func.row_number().over(order_by=Delivery.id) - 1) // BATCH_SIZE).label("n"),
        )
        .where(in_slot)
        .subquery()
    )
    batch_numbers = (
        select(
            DeliveryBatch.id,
            (func.row_number().over(order_by=DeliveryBatch.id) - 1).label("n"),
        )
        .where(DeliveryBatch.circular_id == circular_id, DeliveryBatch.slot == slot)
        .subquery()
    )
    assignment = (
        select(numbered.c.id, batch_numbers.c.id.label("batch_id"))
        .join(batch_numbers, batch_numbers.c.n == numbered.c.n)
        .subquery()
    )
    session.execute(
        update(Delivery)
        .where(Delivery.id == assignment.c.id)
        .values(batch_id=assignment.c.batch_id),
        execution_options={"synchronize_session": False},
    )
    return batches
