"""Snapshots: the residents a send goes to, frozen into deliveries and cut into batches.

Used by release (the card) and by the scheduler (reminders), so every message goes out through
the same rows, batches and retry keys.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, insert, literal, select
from sqlalchemy.orm import Session

from broadcasts.circulars.translations import ORIGINAL, language_of, languages_of
from broadcasts.core.clock import Clock
from broadcasts.delivery.line import MULTICAST_LIMIT
from broadcasts.households.families import household_key
from models import Delivery, DeliveryBatch, DeliveryStatus, HouseholdMember, Resident

BATCH_SIZE = MULTICAST_LIMIT


def snapshot(
    session: Session, clock: Clock, circular_id: int, slot: str, residents: Select[int]
) -> int:
    """Deliveries of `slot` for the residents `residents` selects, in batches with their keys;
    returns the number of batches.

    A multicast carries one message, so each batch holds residents who read the same version of
    the circular (`translations.language_of` their locale): the batches are cut per language.
    The batches are made first, then one INSERT … SELECT writes every delivery with its batch:
    the n-th run of 500 residents of a language (in id order) goes to that language's n-th
    batch. No row is written twice, which on PostgreSQL would mean a second tuple and index
    entries for each of 100,000 rows.
    """
    available = languages_of(session, circular_id)
    ids = residents.subquery()
    if available:
        chosen = (
            select(ids.c.id, language_of(Resident.locale, available).label("language"))
            .join(Resident, Resident.id == ids.c.id)
            .subquery()
        )
    else:
        # No translation: everyone reads the original, and the residents need not be read.
        chosen = select(ids.c.id, literal(ORIGINAL).label("language")).subquery()
    counts = session.execute(
        select(chosen.c.language, func.count())
        .group_by(chosen.c.language)
        .order_by(chosen.c.language)
    ).all()
    batches = [
        {"circular_id": circular_id, "slot": slot, "language": language, "retry_key": uuid.uuid4()}
        for language, count in counts
        for _ in range(-(-int(count) // BATCH_SIZE))
    ]
    if not batches:
        return 0
    session.execute(insert(DeliveryBatch), batches)
    numbered = select(
        chosen.c.id,
        chosen.c.language,
        (
            (func.row_number().over(partition_by=chosen.c.language, order_by=chosen.c.id) - 1)
            // BATCH_SIZE
        ).label("n"),
    ).subquery()
    batch_numbers = (
        select(
            DeliveryBatch.id,
            DeliveryBatch.language,
            (
                func.row_number().over(
                    partition_by=DeliveryBatch.language, order_by=DeliveryBatch.id
                )
                - 1
            ).label("n"),
        )
        .where(DeliveryBatch.circular_id == circular_id, DeliveryBatch.slot == slot)
        .subquery()
    )
    # A resident who registered between the count and this statement has no batch and is left
    # out, as if they had registered a moment later; one who left leaves a batch short or empty,
    # which the worker closes without a call. Each delivery records where its resident is
    # registered and their household now; its read flags start false: nobody can have opened
    # or confirmed a card that did not exist.
    session.execute(
        insert(Delivery).from_select(
            [
                "circular_id",
                "resident_id",
                "slot",
                "status",
                "created_at",
                "batch_id",
                "association_id",
                "group_id",
                "household_key",
            ],
            select(
                literal(circular_id),
                numbered.c.id,
                literal(slot),
                literal(DeliveryStatus.pending, Delivery.__table__.c.status.type),
                literal(clock.now(), Delivery.__table__.c.created_at.type),
                batch_numbers.c.id,
                Resident.association_id,
                Resident.group_id,
                household_key(),
            )
            .join(
                batch_numbers,
                (batch_numbers.c.n == numbered.c.n)
                & (batch_numbers.c.language == numbered.c.language),
            )
            .join(Resident, Resident.id == numbered.c.id)
            .outerjoin(HouseholdMember, HouseholdMember.resident_id == Resident.id),
        )
    )
    return len(batches)
