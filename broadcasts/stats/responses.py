"""What residents did with a circular: confirmations hour by hour, the answers to its question,
the deliveries that did not reach anyone, and (for an association's officers) who has not
confirmed yet. Counted inside a `Scope`, by the area each card was sent to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from broadcasts.households.labels import staff_name
from broadcasts.staff.scope import Scope
from broadcasts.stats.circular_counts import acknowledgements_in_scope
from models import (
    CARD,
    Acknowledgement,
    AnswerOption,
    Delivery,
    DeliveryStatus,
    Group,
    Resident,
)


def _hour(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", column)
    # SQLite keeps UTC timestamps as text, "YYYY-MM-DD HH:MM:SS.ffffff": cutting it is half
    # the cost of strftime over a city's confirmations.
    return func.substr(column, 1, 13).concat(":00:00")


def _as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def confirmations_over_time(
    session: Session, circular_id: int, scope: Scope
) -> list[tuple[datetime, int]]:
    """(hour, confirmations so far) in UTC, one point per hour that saw a confirmation."""
    bucket = _hour(session, Acknowledgement.confirmed_at).label("bucket")
    rows = session.execute(
        acknowledgements_in_scope(select(bucket, func.count()).select_from(Acknowledgement), scope)
        .where(Acknowledgement.circular_id == circular_id)
        .group_by(bucket)
        .order_by(bucket)
    ).all()
    points: list[tuple[datetime, int]] = []
    total = 0
    for moment, count in rows:
        total += int(count)
        points.append((_as_utc(moment), total))
    return points


# --- answers and failures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    position: int
    label: str
    count: int


def answer_tallies(session: Session, circular_id: int, scope: Scope) -> list[Tally]:
    answered = (
        acknowledgements_in_scope(
            select(Acknowledgement.answer_option_id, func.count().label("n")).select_from(
                Acknowledgement
            ),
            scope,
        )
        .where(
            Acknowledgement.circular_id == circular_id,
            Acknowledgement.answer_option_id.is_not(None),
        )
        .group_by(Acknowledgement.answer_option_id)
        .subquery()
    )
    rows = session.execute(
        select(AnswerOption.position, AnswerOption.label, func.coalesce(answered.c.n, 0))
        .outerjoin(answered, answered.c.answer_option_id == AnswerOption.id)
        .where(AnswerOption.circular_id == circular_id)
        .order_by(AnswerOption.position)
    )
    return [Tally(position, label, int(count)) for position, label, count in rows]


def failures(session: Session, circular_id: int, scope: Scope) -> list[tuple[str, str, int]]:
    """(status, reason, count) for deliveries that did not reach the resident."""
    rows = session.execute(
        select(Delivery.status, Delivery.failure_reason, func.count())
        .where(
            Delivery.circular_id == circular_id,
            Delivery.slot == CARD,
            Delivery.status.in_([DeliveryStatus.failed, DeliveryStatus.skipped]),
            scope.deliveries(),
        )
        .group_by(Delivery.status, Delivery.failure_reason)
        .order_by(func.count().desc())
    )
    return [(status.value, reason or "", int(count)) for status, reason, count in rows]


# --- who has not confirmed ----------------------------------------------------------------------


@dataclass(frozen=True)
class Unconfirmed:
    # The name staff see (households.labels.staff_name).
    name: str | None
    group_name: str | None
    opened: bool


def not_confirmed(session: Session, circular_id: int, association_id: int) -> list[Unconfirmed]:
    """Residents the circular reached in one association who have not confirmed it: the stamp
    column of the paper circular. Like every count here, by where they lived when it was sent
    (a resident who moved since stays on the list it went round). The caller checks the viewer
    is its officer."""
    name = staff_name()
    rows = session.execute(
        select(name, Group.name, Delivery.opened)
        .select_from(Delivery)
        .join(Resident, Resident.id == Delivery.resident_id)
        .outerjoin(Group, Group.id == Delivery.group_id)
        .where(
            Delivery.circular_id == circular_id,
            Delivery.slot == CARD,
            Delivery.association_id == association_id,
            Delivery.status == DeliveryStatus.sent,
            Delivery.confirmed.is_(False),
        )
        .order_by(func.coalesce(Group.position, literal(0)), name, Resident.id)
    )
    return [Unconfirmed(name, group, opened) for name, group, opened in rows]
