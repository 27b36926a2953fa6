"""Read statistics for the dashboard: delivered, opened, confirmed, answered — always inside a
`Scope`, always counted by the database.

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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import TOKYO
from broadcasts.delivery.line import Line, UnitStatistics, unit_statistics
from broadcasts.delivery.messages import unit_name
from broadcasts.households.families import household_key
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    Acknowledgement,
    AnswerOption,
    Association,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    District,
    FollowStatus,
    Group,
    HouseholdMember,
    Resident,
)

# LINE hides every per-unit value under this many users.
LINE_PRIVACY_THRESHOLD = 20


# --- counts -------------------------------------------------------------------------------------


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


def _flag_sum(flag: Any) -> Any:
    return func.coalesce(func.sum(case((flag, 1), else_=0)), 0)


def _count_columns() -> list[Any]:
    return [
        func.count().label("recipients"),
        _status_sum(DeliveryStatus.sent).label("delivered"),
        _status_sum(DeliveryStatus.pending).label("pending"),
        _status_sum(DeliveryStatus.failed).label("failed"),
        _status_sum(DeliveryStatus.skipped).label("skipped"),
        _flag_sum(Delivery.opened).label("opened"),
        _flag_sum(Delivery.confirmed).label("confirmed"),
        _flag_sum(Delivery.answered).label("answered"),
    ]


def _acknowledgements_in_scope(query: _Query, scope: Scope) -> _Query:
    """`query` on acknowledgements limited to those of card deliveries in `scope`, by the area
    the card was sent to (as `breakdown`). The city sees them all: every acknowledgement has its
    card (acknowledgements.delivered_circular), so the join is left out."""
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


def _deliveries(columns: Sequence[Any], scope: Scope, *where: ColumnElement[bool]) -> Select[Any]:
    """The card's deliveries in scope (reminders are more messages to the same residents). Each
    carries its area and its read flags (migration 0015), so no other table is read."""
    return (
        select(*columns)
        .select_from(Delivery)
        .where(Delivery.slot == CARD, scope.deliveries(), *where)
    )


def _alone_columns() -> list[Any]:
    """Delivered residents who are a household of one (a negative key), and those of them who
    confirmed (see households.summary)."""
    sent = (Delivery.status == DeliveryStatus.sent) & (Delivery.household_key < 0)
    return [_flag_sum(sent), _flag_sum(sent & Delivery.confirmed)]


def _counts(row: Any) -> Counts:
    return Counts(*(int(getattr(row, name) or 0) for name in COUNT_FIELDS))


def summary(session: Session, circular_id: int, scope: Scope) -> Counts:
    row = session.execute(
        _deliveries(_count_columns(), scope, Delivery.circular_id == circular_id)
    ).one()
    return _counts(row)


# --- circulars list -----------------------------------------------------------------------------


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
            _deliveries(
                [Delivery.circular_id, *_count_columns()], scope, Delivery.circular_id.in_(ids)
            ).group_by(Delivery.circular_id)
        )
        counts = {row.circular_id: _counts(row) for row in rows}
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


# --- breakdown by area --------------------------------------------------------------------------


@dataclass
class AreaRow:
    level: str  # "district", "association", "group"
    id: int | None
    name: str
    counts: Counts = field(default_factory=Counts)
    district_name: str = ""
    association_name: str = ""
    # The association a group row belongs to (and an association row's own id).
    association_id: int | None = None
    # Of its delivered residents, those who are a household of one, and of those the ones who
    # confirmed: counted in the same pass for `households.summary`, which counts the rest.
    alone: tuple[int, int] = (0, 0)


def breakdown(session: Session, circular_id: int, scope: Scope) -> list[AreaRow]:
    """District → association → group, each with its subtotal, in the city's reading order.

    One grouped pass over the circular's deliveries, by the area each was sent to; the tree is
    built from its rows (one per group at most), adding plain lists: at city scale (1,500 班)
    building a `Counts` per addition was a third of the page. Its districts add up to `summary`
    (see `total`).
    """
    rows = session.execute(
        _deliveries(
            [
                Delivery.association_id,
                Delivery.group_id,
                *_count_columns(),
                *_alone_columns(),
            ],
            scope,
            Delivery.circular_id == circular_id,
        ).group_by(Delivery.association_id, Delivery.group_id)
    ).all()
    association_ids = {row[0] for row in rows if row[0] is not None}
    group_ids = {row[1] for row in rows if row[1] is not None}
    # association id → (name, kana, district id, district name, district kana)
    associations: dict[int | None, tuple[str, str, int | None, str, str]] = {
        aid: (name, kana, did, district, district_kana)
        for aid, name, kana, did, district, district_kana in session.execute(
            select(
                Association.id,
                Association.name,
                Association.kana,
                District.id,
                District.name,
                District.kana,
            )
            .join(District, District.id == Association.district_id)
            .where(Association.id.in_(association_ids))
        )
    }
    groups = {
        gid: (name, position)
        for gid, name, position in session.execute(
            select(Group.id, Group.name, Group.position).where(Group.id.in_(group_ids))
        )
    }
    # Deliveries of residents registered nowhere (or in an association since removed).
    nowhere = ("（登録なし）", "", None, "（登録なし）", "")
    width = len(COUNT_FIELDS) + 2
    district_sums: dict[int | None, list[int]] = {}
    association_sums: dict[int | None, list[int]] = {}
    # association id → [(position, group id, name, counts)]
    group_rows: dict[int | None, list[tuple[int, int, str, list[int]]]] = {}
    for association_id, group_id, *values in rows:
        numbers = [int(value or 0) for value in values]
        district_id = associations.get(association_id, nowhere)[2]
        for sums, key in ((district_sums, district_id), (association_sums, association_id)):
            total = sums.setdefault(key, [0] * width)
            for i in range(width):
                total[i] += numbers[i]
        if group_id is not None:
            name, position = groups.get(group_id, ("?", 0))
            group_rows.setdefault(association_id, []).append((position, group_id, name, numbers))

    def known(association_id: int | None) -> tuple[str, str, int | None, str, str]:
        return associations.get(association_id, nowhere)

    by_district: dict[int | None, list[int | None]] = {}
    for association_id in sorted(
        association_sums, key=lambda a: (a not in associations, known(a)[1], a or 0)
    ):
        by_district.setdefault(known(association_id)[2], []).append(association_id)
    ordered: list[AreaRow] = []
    for district_id, members in sorted(
        by_district.items(), key=lambda item: (item[0] is None, known(item[1][0])[4], item[0] or 0)
    ):
        district_name = known(members[0])[3]
        ordered.append(
            AreaRow(
                "district",
                district_id,
                district_name,
                Counts(*district_sums[district_id][:-2]),
                alone=(district_sums[district_id][-2], district_sums[district_id][-1]),
            )
        )
        for association_id in members:
            name = known(association_id)[0]
            ordered.append(
                AreaRow(
                    "association",
                    association_id,
                    name,
                    Counts(*association_sums[association_id][:-2]),
                    district_name,
                    association_id=association_id,
                )
            )
            ordered.extend(
                AreaRow(
                    "group",
                    group_id,
                    group_name,
                    Counts(*numbers[:-2]),
                    district_name,
                    name,
                    association_id,
                )
                for _position, group_id, group_name, numbers in sorted(
                    group_rows.get(association_id, []), key=lambda g: g[:2]
                )
            )
    return ordered


def alone(rows: Sequence[AreaRow]) -> tuple[int, int]:
    """The `AreaRow.alone` of a whole breakdown (its districts'), for households.summary."""
    districts = [row.alone for row in rows if row.level == "district"]
    return (sum(a for a, _ in districts), sum(c for _, c in districts))


def total(rows: Sequence[AreaRow]) -> Counts:
    """The `summary` of a breakdown, without counting the circular's deliveries a second time:
    every delivery in scope is in exactly one district row ("（登録なし）" included)."""
    counts = Counts()
    for row in rows:
        if row.level == "district":
            counts += row.counts
    return counts


# --- confirmations over time --------------------------------------------------------------------


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
        _acknowledgements_in_scope(select(bucket, func.count()).select_from(Acknowledgement), scope)
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
        _acknowledgements_in_scope(
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
    display_name: str | None
    group_name: str | None
    opened: bool


def not_confirmed(session: Session, circular_id: int, association_id: int) -> list[Unconfirmed]:
    """Residents the circular reached in one association who have not confirmed it: the stamp
    column of the paper circular. Like every count here, by where they lived when it was sent
    (a resident who moved since stays on the list it went round). The caller checks the viewer
    is its officer."""
    rows = session.execute(
        select(Resident.display_name, Group.name, Delivery.opened)
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
        .order_by(func.coalesce(Group.position, literal(0)), Resident.display_name, Resident.id)
    )
    return [Unconfirmed(name, group, opened) for name, group, opened in rows]


# --- digital reach ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    id: int
    name: str
    district_id: int
    district_name: str
    households: int
    paper: int
    registered: int

    @property
    def digital_share(self) -> float | None:
        """LINE-registered households per household, capped at 1."""
        return min(1.0, self.registered / self.households) if self.households else None

    @property
    def reach(self) -> float | None:
        """Households reached by LINE or paper; capped at 1."""
        if not self.households:
            return None
        return min(1.0, (self.registered + self.paper) / self.households)


def _registered() -> Any:
    """LINE-registered households per association: a family of three on LINE counts once."""
    return (
        select(Resident.association_id, func.count(func.distinct(household_key())).label("n"))
        .outerjoin(HouseholdMember, HouseholdMember.resident_id == Resident.id)
        .where(
            Resident.follow_status == FollowStatus.following,
            Resident.registered_at.is_not(None),
            Resident.unregistered_at.is_(None),
            Resident.association_id.is_not(None),
        )
        .group_by(Resident.association_id)
        .subquery()
    )


def reach_by_association(session: Session, scope: Scope) -> list[Reach]:
    registered = _registered()
    rows = session.execute(
        select(
            Association.id,
            Association.name,
            District.id,
            District.name,
            Association.household_count,
            Association.paper_household_count,
            func.coalesce(registered.c.n, 0),
        )
        .join(District, District.id == Association.district_id)
        .outerjoin(registered, registered.c.association_id == Association.id)
        .where(scope.associations())
        .order_by(District.kana, District.id, Association.kana, Association.id)
    )
    return [
        Reach(aid, name, did, district, int(households), int(paper), int(registered))
        for aid, name, did, district, households, paper, registered in rows
    ]


def reach_by_district(session: Session, scope: Scope) -> list[Reach]:
    """Per district, best reach first (the city view)."""
    registered = _registered()
    rows = session.execute(
        select(
            District.id,
            District.name,
            func.sum(Association.household_count),
            func.sum(Association.paper_household_count),
            func.sum(func.coalesce(registered.c.n, 0)),
        )
        .join(Association, Association.district_id == District.id)
        .outerjoin(registered, registered.c.association_id == Association.id)
        .where(scope.associations())
        .group_by(District.id, District.name)
    )
    found = [
        Reach(did, name, did, name, int(h or 0), int(p or 0), int(r or 0))
        for did, name, h, p, r in rows
    ]
    return sorted(found, key=lambda r: (-(r.reach or 0.0), r.name))


def set_paper_households(session: Session, association: Association, count: int) -> None:
    """The officer's count of households still on paper (0 … households)."""
    if not 0 <= count <= association.household_count:
        raise ValueError("paper households must be between 0 and the household count")
    association.paper_household_count = count
    session.flush()


# --- LINE's own statistics ----------------------------------------------------------------------


def line_statistics(
    line: Line, circular_id: int, released_at: datetime, today: date
) -> UnitStatistics | None:
    """LINE's per-unit statistics for the circular's first 30 days, or None when LINE did not
    answer. A network call: make it outside any write transaction."""
    start = released_at.astimezone(TOKYO).date()
    end = min(today, start + timedelta(days=30))
    return unit_statistics(line, unit_name(circular_id), start, max(start, end))
