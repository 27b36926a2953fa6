"""The adoption curve: registered households against all households, week by week.

Adoption is where circulars by LINE stall (often at a fifth to a quarter of households), so the
city and the promoters watch it per district and association. All households of an association
are `Association.household_count`; what counts as a registered household is decided in ONE
place, `registered_households`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import TOKYO
from broadcasts.households import families
from broadcasts.staff.scope import Scope
from models import Association, District, HouseholdMember, Resident

WEEKS = 12
RANKED = 3


def registered_households(
    session: Session, scope: Scope, moments: Sequence[datetime]
) -> list[dict[int, int]]:
    """Registered households per association at each of `moments`, inside `scope`.

    Family members who joined one household count once (their household's current members);
    a resident in no household is a household of one. One pass over the residents, one
    COUNT(DISTINCT …) column per moment, rather than one query per week."""
    key = families.household_key()
    columns = [
        func.count(
            distinct(
                case(
                    (
                        and_(
                            Resident.registered_at <= at,
                            or_(Resident.unregistered_at.is_(None), Resident.unregistered_at > at),
                        ),
                        key,
                    )
                )
            )
        )
        for at in moments
    ]
    rows = session.execute(
        select(Resident.association_id, *columns)
        .outerjoin(HouseholdMember, HouseholdMember.resident_id == Resident.id)
        .where(
            Resident.association_id.in_(select(Association.id).where(scope.associations())),
            Resident.registered_at <= max(moments),
        )
        .group_by(Resident.association_id)
    ).all()
    counts: list[dict[int, int]] = [{} for _ in moments]
    for association_id, *per_moment in rows:
        if association_id is None:
            continue
        for week, count in zip(counts, per_moment, strict=True):
            if count:
                week[association_id] = int(count)
    return counts


@dataclass(frozen=True)
class Row:
    """One district or association: its households and registered households per week."""

    id: int
    name: str
    district_name: str
    households: int
    registered: tuple[int, ...]

    @property
    def share(self) -> float | None:
        return self.registered[-1] / self.households if self.households else None

    @property
    def growth(self) -> float | None:
        """Share gained over the weeks shown (0.05 = five points)."""
        if not self.households:
            return None
        return (self.registered[-1] - self.registered[0]) / self.households


@dataclass(frozen=True)
class Curve:
    weeks: tuple[date, ...]  # the Tokyo day each point is taken at (the last is today)
    total: Row
    districts: tuple[Row, ...]
    associations: tuple[Row, ...]
    fastest: tuple[Row, ...]
    slowest: tuple[Row, ...]


def curve(session: Session, scope: Scope, now: datetime, weeks: int = WEEKS) -> Curve:
    """One count per week (`weeks` points ending now), per association and summed up."""
    moments = [now - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    counts = registered_households(session, scope, moments)
    listed = session.execute(
        select(Association, District)
        .join(District, District.id == Association.district_id)
        .where(scope.associations())
        .order_by(District.kana, District.id, Association.kana, Association.id)
    ).all()
    associations = tuple(
        Row(
            a.id,
            a.name,
            d.name,
            a.household_count,
            tuple(week.get(a.id, 0) for week in counts),
        )
        for a, d in listed
    )
    by_district: dict[int, list[Row]] = {}
    names: dict[int, str] = {}
    for (_association, d), row in zip(listed, associations, strict=True):
        by_district.setdefault(d.id, []).append(row)
        names[d.id] = d.name
    districts = tuple(_sum(i, names[i], names[i], rows) for i, rows in by_district.items())
    ranked = sorted(
        (row for row in districts if row.growth is not None),
        key=lambda row: (-(row.growth or 0.0), row.name),
    )
    fast = min(RANKED, (len(ranked) + 1) // 2)
    slow = min(RANKED, len(ranked) // 2)
    return Curve(
        weeks=tuple(moment.astimezone(TOKYO).date() for moment in moments),
        total=_sum(0, "", "", associations, weeks),
        districts=districts,
        associations=associations,
        fastest=tuple(ranked[:fast]),
        slowest=tuple(reversed(ranked[len(ranked) - slow :])),
    )


def _sum(
    row_id: int, name: str, district_name: str, rows: Sequence[Row], weeks: int | None = None
) -> Row:
    width = weeks if weeks is not None else len(rows[0].registered)
    return Row(
        row_id,
        name,
        district_name,
        sum(row.households for row in rows),
        tuple(sum(row.registered[i] for row in rows) for i in range(width)),
    )
