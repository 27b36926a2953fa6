"""Reading a circular on its detail page: what a link may show, and the Open it records.

A per-resident link shows a circular only if it was delivered to that resident (its card), so a
link cannot be bent to another circular even with a valid signature for other ids. The public
page (the QR code on paper) shows released circulars to anyone and records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.circulars.lifecycle import corrections_of
from broadcasts.core.clock import Clock
from models import (
    CARD,
    Acknowledgement,
    AnswerOption,
    Circular,
    CircularStatus,
    Delivery,
    Open,
    Resident,
)

VISIBLE = (CircularStatus.sending, CircularStatus.sent)


@dataclass(frozen=True)
class Reading:
    circular: Circular
    resident: Resident | None
    confirmed: bool
    # The released corrections (訂正) of this circular, and the circular this one corrects.
    corrections: list[Circular]
    corrects: Circular | None
    # The position of the option the resident answered, if they did.
    answered: int | None = None
    # Their headcount or free answer, if the question asks for one and they gave it.
    count: int | None = None
    text: str | None = None


def for_resident(session: Session, circular_id: int, resident_id: int) -> Reading | None:
    """The circular as the resident's link shows it, or None (not delivered to them, or they
    have since unregistered)."""
    row = session.execute(
        select(Circular, Resident)
        .join(Delivery, Delivery.circular_id == Circular.id)
        .join(Resident, Resident.id == Delivery.resident_id)
        .where(
            Circular.id == circular_id,
            Delivery.resident_id == resident_id,
            Delivery.slot == CARD,
            Resident.unregistered_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    circular, resident = row
    acknowledgement = session.execute(
        select(
            Acknowledgement.id,
            AnswerOption.position,
            Acknowledgement.answer_count,
            Acknowledgement.answer_text,
        )
        .outerjoin(AnswerOption, AnswerOption.id == Acknowledgement.answer_option_id)
        .where(
            Acknowledgement.circular_id == circular_id,
            Acknowledgement.resident_id == resident_id,
        )
    ).first()
    shown = _reading(session, circular, resident, acknowledgement is not None)
    if acknowledgement is None:
        return shown
    return replace(
        shown,
        answered=acknowledgement.position,
        count=acknowledgement.answer_count,
        text=acknowledgement.answer_text,
    )


def for_public(session: Session, circular_id: int) -> Reading | None:
    circular = session.get(Circular, circular_id)
    if circular is None or circular.status not in VISIBLE:
        return None
    return _reading(session, circular, None, False)


def _reading(
    session: Session, circular: Circular, resident: Resident | None, confirmed: bool
) -> Reading:
    corrects = circular.corrects
    if corrects is not None and corrects.status not in VISIBLE:
        corrects = None
    return Reading(circular, resident, confirmed, corrections_of(session, circular), corrects)


def record_open(session: Session, clock: Clock, circular_id: int, resident_id: int) -> bool:
    """Record the first opening; True if this was it. Later views write nothing (ON CONFLICT)."""
    statement = (
        _insert(session, Open)
        .values(circular_id=circular_id, resident_id=resident_id, opened_at=clock.now())
        .on_conflict_do_nothing(index_elements=["circular_id", "resident_id"])
        .returning(Open.id)
    )
    return session.execute(statement).first() is not None


def _insert(session: Session, model: type[Open]) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model)
