"""Counts of a circular's card deliveries, and the SQL pieces every statistic shares.

Definitions (rates are against delivered):
- delivered: a Delivery in state sent;
- opened: an Open row (the resident viewed the detail page);
- confirmed: an Acknowledgement row; answered: one with an answer option.
Areas are where the resident was registered when the circular was sent (the delivery records
it: district → association → group), not where they are now.

Every function runs aggregate SQL: a circular sent to 100,000 residents is counted in a few
grouped queries, never by loading its rows into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from broadcasts.staff.scope import Scope
from models import CARD, Acknowledgement, Circular, CircularStatus, Delivery, DeliveryStatus


@dataclass(frozen=True)
class Counts:
    recipients: int = 0
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    skipped: int = 0
    opened: int = 0
    confirmed: int = 0
    answered: int = 0

    def rate(self, value: int) -> float | None:
        return value / self.delivered if self.delivered else None

    @property
    def opened_rate(self) -> float | None:
        return self.rate(self.opened)

    @property
    def confirmed_rate(self) -> float | None:
        return self.rate(self.confirmed)

    @property
    def answered_rate(self) -> float | None:
        return self.rate(self.answered)

    @property
    def finished(self) -> int:
        """Deliveries that reached an end state: what the progress bar shows."""
        return self.delivered + self.failed + self.skipped

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, name) + getattr(other, name) for name in COUNT_FIELDS))


COUNT_FIELDS = (
    "recipients",
    "delivered",
    "pending",
    "failed",
    "skipped",
    "opened",
    "confirmed",
    "answered",
)


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _status_sum(status: DeliveryStatus) -> Any:
    return func.coalesce(func.sum(case((Delivery.status == status, 1), else_=0)), 0)


def flag_sum(flag: Any) -> Any:
    """How many rows `flag` holds for, 0 when none."""
    return func.coalesce(func.sum(case((flag, 1), else_=0)), 0)


def count_columns() -> list[Any]:
    """The columns of a `Counts`, in its order, over the selected deliveries."""
    return [
        func.count().label("recipients"),
        _status_sum(DeliveryStatus.sent).label("delivered"),
        _status_sum(DeliveryStatus.pending).label("pending"),
        _status_sum(DeliveryStatus.failed).label("failed"),
        _status_sum(DeliveryStatus.skipped).label("skipped"),
        flag_sum(Delivery.opened).label("opened"),
        flag_sum(Delivery.confirmed).label("confirmed"),
        flag_sum(Delivery.answered).label("answered"),
    ]


def acknowledgements_in_scope(query: _Query, scope: Scope) -> _Query:
    """`query` on acknowledgements limited to those of card deliveries in `scope`, by the area
    the card was sent to (as `by_area.breakdown`). The city sees them all: every acknowledgement
    has its card (acknowledgements.delivered_circular), so the join is left out."""
    if scope.city:
        return query
    return query.join(
        Delivery,
        and_(
            Delivery.circular_id == Acknowledgement.circular_id,
            Delivery.resident_id == Acknowledgement.resident_id,
            Delivery.slot == CARD,
        ),
    ).where(scope.deliveries())


def card_deliveries(
    columns: Sequence[Any], scope: Scope, *where: ColumnElement[bool]
) -> Select[Any]:
    """The card's deliveries in scope (reminders are more messages to the same residents). Each
    carries its area and its read flags (migration 0015), so no other table is read."""
    return (
        select(*columns)
        .select_from(Delivery)
        .where(Delivery.slot == CARD, scope.deliveries(), *where)
    )


def counts_of(row: Any) -> Counts:
    """The `Counts` of a row selected with `count_columns`."""
    return Counts(*(int(getattr(row, name) or 0) for name in COUNT_FIELDS))


def summary(session: Session, circular_id: int, scope: Scope) -> Counts:
    row = session.execute(
        card_deliveries(count_columns(), scope, Delivery.circular_id == circular_id)
    ).one()
    return counts_of(row)


# --- the list of circulars ----------------------------------------------------------------------


@dataclass(frozen=True)
class CircularRow:
    id: int
    title: str
    status: CircularStatus
    created_at: datetime
    scheduled_at: datetime | None
    released_at: datetime | None
    hold_reason: str | None
    counts: Counts


def circulars(
    session: Session, scope: Scope, limit: int = 50, offset: int = 0
) -> list[CircularRow]:
    """The newest circulars the scope sees, with their counts inside the scope."""
    found = list(
        session.scalars(
            select(Circular)
            .where(scope.circulars())
            .order_by(Circular.created_at.desc(), Circular.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    ids = [circular.id for circular in found]
    counts: dict[int, Counts] = {}
    if ids:
        rows = session.execute(
            card_deliveries(
                [Delivery.circular_id, *count_columns()], scope, Delivery.circular_id.in_(ids)
            ).group_by(Delivery.circular_id)
        )
        counts = {row.circular_id: counts_of(row) for row in rows}
    return [
        CircularRow(
            c.id,
            c.title,
            c.status,
            c.created_at,
            c.scheduled_at,
            c.released_at,
            c.hold_reason,
            counts.get(c.id, Counts()),
        )
        for c in found
    ]
