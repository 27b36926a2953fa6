"""Terms: a role may end on a date (役員 and 班長 change every April), and then it ends by itself.

A term end is a date in Tokyo: the role holds through that day and grants nothing from the
next midnight (Asia/Tokyo), stored as an aware UTC instant (`StaffRole.ends_at`). Nobody has to
act when it comes:

- every dashboard request loads only roles in force (`in_force`), and a viewer whose role has
  ended has it removed there and then (`end_due_roles`), which ends all their dashboard
  sessions, as removing a role by hand does;
- the clock removes every ended role on each tick (same function), so the officers' digest and
  the LINE-side staff features stop too, for people who never open the dashboard.

Removing the role keeps history: circulars, audit entries and confirmations name the staff
member, who stays.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from broadcasts.core.clock import Clock
from broadcasts.staff import audit, logins
from broadcasts.staff.scope import Scope
from models import Association, District, Group, Role, StaffMember, StaffRole

TOKYO = ZoneInfo("Asia/Tokyo")
ENDING_SOON = timedelta(days=30)


def in_force(now: datetime) -> ColumnElement[bool]:
    """On `StaffRole`: roles without an end, or whose end is still to come."""
    return or_(StaffRole.ends_at.is_(None), StaffRole.ends_at > now)


def ends_at(last_day: date | None) -> datetime | None:
    """The instant a term whose last day is `last_day` ends: the next midnight in Tokyo."""
    if last_day is None:
        return None
    return datetime.combine(last_day + timedelta(days=1), time.min, TOKYO).astimezone(
        ZoneInfo("UTC")
    )


def last_day(ends: datetime | None) -> date | None:
    """The term's last day in Tokyo, as people say it (the reverse of `ends_at`)."""
    if ends is None:
        return None
    return (ends.astimezone(TOKYO) - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class EndedRole:
    role_id: int
    staff_member_id: int
    role: Role


def end_due_roles(
    session: Session, clock: Clock, staff_member_id: int | None = None
) -> list[EndedRole]:
    """Remove every role whose term has ended (of one member, or of everyone) and end the
    holders' dashboard sessions. Flushes; the caller commits. Of two processes ending the same
    role at once, one deletes it and records it."""
    now = clock.now()
    query = select(StaffRole).where(StaffRole.ends_at.is_not(None), StaffRole.ends_at <= now)
    if staff_member_id is not None:
        query = query.where(StaffRole.staff_member_id == staff_member_id)
    ended: list[EndedRole] = []
    for role in session.scalars(query.order_by(StaffRole.id)).all():
        gone: Any = session.execute(
            delete(StaffRole)
            .where(StaffRole.id == role.id)
            .execution_options(synchronize_session=False)
        )
        if gone.rowcount != 1:
            continue
        logins.end_sessions_of(session, role.staff_member_id)
        audit.record(
            session,
            clock,
            None,
            "role.ended",
            "staff_member",
            role.staff_member_id,
            role=role.role.value,
            district_id=role.district_id,
            association_id=role.association_id,
            group_id=role.group_id,
        )
        ended.append(EndedRole(role.id, role.staff_member_id, role.role))
    if ended:
        session.flush()
        session.expire_all()
    return ended


def request_scope(session: Session, clock: Clock, staff_member_id: int) -> Scope | None:
    """The scope of a dashboard request, from the member's roles (one query, reading only while
    every term runs). None when one of them has ended: it is removed now (`end_due_roles`), which
    ends the member's dashboard sessions, this one included; the caller commits."""
    roles = session.scalars(
        select(StaffRole).where(StaffRole.staff_member_id == staff_member_id)
    ).all()
    now = clock.now()
    if any(role.ends_at is not None and role.ends_at <= now for role in roles):
        end_due_roles(session, clock, staff_member_id)
        return None
    return Scope.of(staff_member_id, roles)


@dataclass(frozen=True)
class EndingRole:
    role_id: int
    role: Role
    holder: str | None
    area: str
    last_day: date


@dataclass(frozen=True)
class DistrictEndings:
    district: str | None  # None: the city (admins)
    roles: list[EndingRole]


def ending_soon(
    session: Session, clock: Clock, scope: Scope, within: timedelta = ENDING_SOON
) -> list[DistrictEndings]:
    """Roles in the scope's areas whose term ends within `within`, per district (the city's
    admins first), soonest first. A promoter sees their districts; an officer their associations;
    an admin everything."""
    now = clock.now()
    rows = session.execute(
        select(StaffRole, StaffMember.display_name)
        .join(StaffMember, StaffMember.id == StaffRole.staff_member_id)
        .where(
            StaffRole.ends_at.is_not(None),
            StaffRole.ends_at > now,
            StaffRole.ends_at <= now + within,
            covered(scope),
        )
        .order_by(StaffRole.ends_at, StaffRole.id)
        # In March every officer's term may end at once: areas in a few queries, not per row.
        .options(
            selectinload(StaffRole.district),
            selectinload(StaffRole.association).selectinload(Association.district),
            selectinload(StaffRole.group)
            .selectinload(Group.association)
            .selectinload(Association.district),
        )
    ).all()
    groups: dict[int | None, list[EndingRole]] = defaultdict(list)
    names: dict[int | None, str | None] = {None: None}
    for role, holder in rows:
        district = _district(role)
        if district is not None:
            names[district.id] = district.name
        groups[district.id if district else None].append(
            EndingRole(role.id, role.role, holder, area_name(role), _last_day(role))
        )
    ordered = sorted(groups, key=lambda key: (key is not None, names.get(key) or ""))
    return [DistrictEndings(names[key], groups[key]) for key in ordered]


def _last_day(role: StaffRole) -> date:
    day = last_day(role.ends_at)
    if day is None:  # not reached: only roles with an end are listed
        raise ValueError(role.id)
    return day


def _district(role: StaffRole) -> District | None:
    if role.district is not None:
        return role.district
    if role.association is not None:
        return role.association.district
    if role.group is not None:
        return role.group.association.district
    return None


def area_name(role: StaffRole) -> str:
    """The role's area as people say it: a district, an association, 「自治会 班」, or the city."""
    if role.group is not None:
        return f"{role.group.association.name} {role.group.name}"
    if role.association is not None:
        return role.association.name
    if role.district is not None:
        return role.district.name
    return "市全体"


def covered(scope: Scope) -> ColumnElement[bool]:
    """On `StaffRole`: roles whose area lies inside the scope (an admin role: the city's only)."""
    if scope.city:
        return StaffRole.id.is_not(None)
    return or_(
        StaffRole.district_id.in_(select(District.id).where(scope.districts_whole())),
        StaffRole.association_id.in_(select(Association.id).where(scope.associations_whole())),
        StaffRole.group_id.in_(select(Group.id).where(scope.groups())),
    )
