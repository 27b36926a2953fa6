"""Digital reach per association and per district: households registered on LINE (a family
counts once), households on paper, and the share of all households either reaches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.staff.scope import Scope
from models import Association, District, FollowStatus, HouseholdMember, Resident


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


def registered_households() -> Any:
    """LINE-registered households per association: a family of three on LINE counts once.

    Counted as every registered resident, less the household members, plus their households:
    the first count reads one index (ix_residents_reach), the second only the residents who are
    in a household. (One COUNT(DISTINCT household or resident) over every resident joined to
    its household took seconds at 300,000 residents on SQLite.)"""
    registered = (
        Resident.follow_status == FollowStatus.following,
        Resident.registered_at.is_not(None),
        Resident.unregistered_at.is_(None),
        Resident.association_id.is_not(None),
    )
    everyone = (
        select(Resident.association_id, func.count().label("n"))
        .where(*registered)
        .group_by(Resident.association_id)
        .subquery()
    )
    grouped = (
        select(
            Resident.association_id,
            func.count().label("members"),
            func.count(func.distinct(HouseholdMember.household_id)).label("households"),
        )
        .join(HouseholdMember, HouseholdMember.resident_id == Resident.id)
        # Redundant with the join, and there so SQLite starts from the household members.
        .where(*registered, Resident.id.in_(select(HouseholdMember.resident_id)))
        .group_by(Resident.association_id)
        .subquery()
    )
    return (
        select(
            everyone.c.association_id,
            (
                everyone.c.n
                - func.coalesce(grouped.c.members, 0)
                + func.coalesce(grouped.c.households, 0)
            ).label("n"),
        )
        .outerjoin(grouped, grouped.c.association_id == everyone.c.association_id)
        .subquery()
    )


def reach_by_association(session: Session, scope: Scope) -> list[Reach]:
    registered = registered_households()
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
    registered = registered_households()
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
