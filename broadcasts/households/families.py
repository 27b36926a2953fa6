"""Households (世帯): a resident invites family members from LINE with a one-time code; a
member may leave. A resident in no household is a household of one.

Counting by household uses one SQL expression, `household_key()`: the household's id, or the
resident's id negated for a household of one, so the two never collide and every count of
households is a COUNT(DISTINCT …) in the database.

A circular marked "one per household" is confirmed for the whole household by any member's
「確認しました」: the others get an Acknowledgement with channel `household`, so reminders,
their cards and the statistics of people all see it confirmed without a rule of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.invite_codes import InviteCode, code_hash
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    Acknowledgement,
    Channel,
    Circular,
    Delivery,
    DeliveryStatus,
    Household,
    HouseholdInvite,
    HouseholdMember,
    Resident,
)

VALID_FOR = timedelta(days=3)
# 60 random bits: single use and three days make guessing hopeless
CODE = InviteCode("KAZOKU", 12)


def household_key() -> ColumnElement[int]:
    """On a query joining `Resident` and outer-joining `HouseholdMember`: one value per
    household."""
    return func.coalesce(HouseholdMember.household_id, -Resident.id)


def household_of(session: Session, resident_id: int) -> int | None:
    return session.scalar(
        select(HouseholdMember.household_id).where(HouseholdMember.resident_id == resident_id)
    )


def members(session: Session, resident_id: int) -> list[int]:
    """The residents of `resident_id`'s household, the resident included."""
    household_id = household_of(session, resident_id)
    if household_id is None:
        return [resident_id]
    return list(
        session.scalars(
            select(HouseholdMember.resident_id).where(HouseholdMember.household_id == household_id)
        )
    )


# --- invites ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invited:
    status: Literal["issued", "not_registered"]
    code: str | None = None


def invite(session: Session, clock: Clock, resident: Resident) -> Invited:
    """A code for a family member; the inviter's household is made if they had none."""
    if resident.association_id is None or resident.unregistered_at is not None:
        return Invited("not_registered")
    now = clock.now()
    household_id = household_of(session, resident.id)
    if household_id is None:
        household = Household(created_at=now)
        session.add(household)
        session.flush()
        household_id = household.id
        session.add(HouseholdMember(resident_id=resident.id, household_id=household_id))
    code, hashed = CODE.issue()
    session.add(
        HouseholdInvite(
            household_id=household_id,
            code_hash=hashed,
            created_by_id=resident.id,
            created_at=now,
            expires_at=now + VALID_FOR,
        )
    )
    session.flush()
    return Invited("issued", code)


JoinStatus = Literal["joined", "already", "unknown", "expired", "used"]


def join(session: Session, clock: Clock, resident: Resident, code: str) -> JoinStatus:
    """Join the household of the code. The household lives at one address, so the resident
    takes its registration (association and 班). Every refusal changes nothing."""
    found = session.scalars(
        select(HouseholdInvite).where(HouseholdInvite.code_hash == code_hash(code))
    ).first()
    if found is None:
        return "unknown"
    now = clock.now()
    if found.used_at is not None:
        return "used"
    if now > found.expires_at:
        return "expired"
    if household_of(session, resident.id) == found.household_id:
        return "already"
    # Of two people sending the same code at once, exactly one sees the row change.
    claimed: Any = session.execute(
        update(HouseholdInvite)
        .where(HouseholdInvite.id == found.id, HouseholdInvite.used_at.is_(None))
        .values(used_at=now, used_by_id=resident.id)
    )
    if claimed.rowcount != 1:
        return "used"
    inviter = session.get_one(Resident, found.created_by_id)
    _leave(session, resident.id)
    session.add(HouseholdMember(resident_id=resident.id, household_id=found.household_id))
    resident.association_id = inviter.association_id
    resident.group_id = inviter.group_id
    resident.registered_at = resident.registered_at or now
    resident.unregistered_at = None
    session.flush()
    return "joined"


def leave(session: Session, resident: Resident) -> bool:
    """Leave the household (the resident becomes a household of one). False: in none."""
    if household_of(session, resident.id) is None:
        return False
    _leave(session, resident.id)
    session.flush()
    return True


def _leave(session: Session, resident_id: int) -> None:
    membership = session.get(HouseholdMember, resident_id)
    if membership is not None:
        session.delete(membership)
        session.flush()


# --- one confirmation per household -------------------------------------------------------------


def confirm_for_household(
    session: Session, clock: Clock, resident: Resident, circular: Circular
) -> int:
    """After `resident` confirmed: confirm for the rest of their household when the circular
    asks one confirmation per household. Only members the card was delivered to; returns how
    many were confirmed now."""
    circular_id = circular.id
    if not circular.one_per_household:
        return 0
    others = [member for member in members(session, resident.id) if member != resident.id]
    if not others:
        return 0
    delivered = list(
        session.scalars(
            select(Delivery.resident_id).where(
                Delivery.circular_id == circular_id,
                Delivery.slot == CARD,
                Delivery.resident_id.in_(others),
            )
        )
    )
    if not delivered:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    result: Any = session.execute(
        insert(Acknowledgement)
        .values(
            [
                {
                    "circular_id": circular_id,
                    "resident_id": member,
                    "confirmed_at": now,
                    "channel": Channel.household,
                }
                for member in delivered
            ]
        )
        .on_conflict_do_nothing(index_elements=["circular_id", "resident_id"])
    )
    return int(result.rowcount or 0)


# --- counting households ------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdCounts:
    delivered: int = 0
    confirmed: int = 0

    @property
    def confirmed_rate(self) -> float | None:
        return self.confirmed / self.delivered if self.delivered else None


def summary(
    session: Session, circular_id: int, scope: Scope, alone: tuple[int, int] | None = None
) -> HouseholdCounts:
    """Households the card reached, and households where someone confirmed, in scope — by the
    household and area each delivery recorded when it was written. `alone`: the households of
    one, reached and confirmed, when the caller has counted them already (`stats.alone` of a
    breakdown: the same pass over the circular's deliveries, not a second one)."""
    sent = (
        Delivery.circular_id == circular_id,
        Delivery.slot == CARD,
        Delivery.status == DeliveryStatus.sent,
        scope.deliveries(),
    )
    if alone is None:
        # A household of one (a negative key) is its resident: counted, not told apart.
        row = session.execute(
            select(func.count(), func.sum(case((Delivery.confirmed, 1), else_=0))).where(
                *sent, Delivery.household_key < 0
            )
        ).one()
        alone = (int(row[0] or 0), int(row[1] or 0))
    together = session.execute(
        select(
            func.count(func.distinct(Delivery.household_key)),
            func.count(func.distinct(case((Delivery.confirmed, Delivery.household_key)))),
        ).where(*sent, Delivery.household_key > 0)
    ).one()
    return HouseholdCounts(alone[0] + int(together[0] or 0), alone[1] + int(together[1] or 0))
