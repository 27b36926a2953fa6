"""Releasing a circular: snapshot its recipients into deliveries, cut them into batches of at
most 500 with a retry key each, all in the caller's transaction.

The caller reads LINE's remaining quota first (a network call, outside any transaction) and
commits after: the keys are then stored before any request uses them. Reminders are snapshotted
the same way (`snapshot`), so every message goes out through the same rows, batches and keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Select, case, func, insert, literal, select
from sqlalchemy.orm import Session

from broadcasts.circulars import group_posts
from broadcasts.circulars.targeting import Target, reach, recipient_ids
from broadcasts.circulars.translations import ORIGINAL, language_of, languages_of
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.delivery.line import MULTICAST_LIMIT
from broadcasts.delivery.messages import UnsendableCircular, circular_card
from broadcasts.delivery.monthly_quota import (
    one_release_at_a_time,
    promised_elsewhere,
    short_of_quota,
)
from broadcasts.households.families import household_key
from models import (
    CARD,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    HouseholdMember,
    Resident,
)

BATCH_SIZE = MULTICAST_LIMIT
RELEASABLE = (CircularStatus.draft, CircularStatus.scheduled)


@dataclass(frozen=True)
class Release:
    released: bool
    recipients: int = 0
    batches: int = 0
    # Why it was not released, for the author (Japanese, shown as is).
    reason: str | None = None
    # Set when the month's quota was the reason: what it had left for this circular.
    available: int | None = None


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
    needed = recipients + group_posts.cost(session, circular)
    refusal = _refusal(session, circular, target, recipients, needed, remaining_quota)
    if refusal is not None:
        reason, available = refusal
        circular.hold_reason = reason
        session.flush()
        return Release(False, recipients=recipients, reason=reason, available=available)

    now = clock.now()
    batches = snapshot(session, clock, circular.id, CARD, recipient_ids(target))
    group_posts.snapshot(session, circular)
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
    needed: int,
    remaining_quota: int | None,
) -> tuple[str, int | None] | None:
    """Why not, and what the month had left when the quota was why (`needed`: the card's
    recipients and the LINE groups' members)."""
    if target.is_empty():
        return StaffText("届け先が選ばれていません"), None
    if recipients == 0:
        return StaffText("届け先に登録済みの住民がいません"), None
    try:
        circular_card(circular)
    except UnsendableCircular as error:
        return error.message, None
    if remaining_quota is not None:
        available = remaining_quota - promised_elsewhere(session)
        if available < needed:
            reason = StaffText(
                "%(shortage)s。全員に届くまで送信しません",
                shortage=short_of_quota(needed, available),
            )
            return reason, available
    return None


# --- snapshots ----------------------------------------------------------------------------------


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
    made = session.execute(
        select(DeliveryBatch.language, DeliveryBatch.id)
        .where(DeliveryBatch.circular_id == circular_id, DeliveryBatch.slot == slot)
        .order_by(DeliveryBatch.language, DeliveryBatch.id)
    ).all()
    # The n-th batch of a language as arithmetic on n, not a join with the numbered batches:
    # SQLite joins two subqueries by scanning one for each row of the other, which grew with
    # residents × batches.
    offset = case(
        *(
            (
                (numbered.c.language == run.language) & numbered.c.n.between(run.first, run.last),
                literal(run.offset),
            )
            for run in runs(made)
        )
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
                numbered.c.n + offset,
                Resident.association_id,
                Resident.group_id,
                household_key(),
            )
            .join(Resident, Resident.id == numbered.c.id)
            .outerjoin(HouseholdMember, HouseholdMember.resident_id == Resident.id)
            # Past its language's last batch (registered since the count): no batch, no row.
            .where(offset.is_not(None)),
        )
    )
    return len(batches)


@dataclass(frozen=True)
class Run:
    """Batches of one language whose ids follow each other: the n-th batch of the language, for
    n from `first` to `last`, has the id n + `offset`."""

    language: str
    first: int
    last: int
    offset: int


def runs(batches: Iterable[tuple[str, int]]) -> Iterator[Run]:
    """The runs of (language, id) pairs sorted by language then id. One run per language when the
    ids were handed out one after another, as they are when nothing else inserts batches
    meanwhile; more when another transaction took ids in between (PostgreSQL's sequences)."""
    language: str | None = None
    position = 0
    run: Run | None = None
    for batch_language, batch_id in batches:
        position = position + 1 if batch_language == language else 0
        if run is not None and (
            batch_language != run.language or batch_id != position + run.offset
        ):
            yield run
            run = None
        if run is None:
            run = Run(batch_language, position, position, batch_id - position)
        else:
            run = Run(run.language, run.first, position, run.offset)
        language = batch_language
    if run is not None:
        yield run
