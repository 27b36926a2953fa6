"""Creating, changing and listing interest groups, with their members counted.

An officer makes groups in their associations, a promoter in their districts and their
associations, an admin anywhere; the rule is the Scope's (`may_manage_in`). Each group gets a
reusable code 「NAKAMA-XXXX-XXXX」 residents type to join (broadcasts/interest_groups/members.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target, staff_line_ids
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.core.invite_codes import ALPHABET, InviteCode
from broadcasts.core.text import typed_name
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import (
    Association,
    District,
    FollowStatus,
    InterestGroup,
    InterestMembership,
    Posters,
    Resident,
)

CODE = InviteCode("NAKAMA", 8)
NAME_LIMIT = 50
# The built-in group of an association's officers and 班長: no row, derived from their roles.
STAFF_GROUP_NAME = "役員会"


class GroupError(Refused):
    """Refused as asked; `message` says why."""


@dataclass(frozen=True)
class Area:
    """Where a group lives: one association or one district."""

    association_id: int | None = None
    district_id: int | None = None


@dataclass(frozen=True)
class Listed:
    id: int | None  # None: 「役員会」, which is no row
    name: str
    members: int
    code: str | None  # as printed; None for 「役員会」
    posters: Posters | None


def printed(body: str) -> str:
    return f"{CODE.prefix}-{body[:4]}-{body[4:]}"


def may_manage_in(session: Session, scope: Scope, area: Area) -> bool:
    """Whether `scope` may create and change groups in `area`: its staff who compose there."""
    if scope.city:
        return True
    if area.district_id is not None:
        return area.district_id in scope.district_ids
    if area.association_id is None:
        return False
    return scope.may_compose and scope.may_target(
        session, Target.of(associations=[area.association_id])
    )


def _clean_name(name: str) -> str:
    cleaned = typed_name(name)
    if not cleaned:
        raise GroupError(StaffText("グループ名を入れてください"))
    if len(cleaned) > NAME_LIMIT:
        raise GroupError(StaffText("グループ名は%(limit)s文字までにしてください", limit=NAME_LIMIT))
    if cleaned == STAFF_GROUP_NAME:
        raise GroupError(StaffText("「役員会」は最初からあるグループです"))
    return cleaned


def _taken(session: Session, area: Area, name: str, other_than: int | None = None) -> bool:
    query = select(InterestGroup.id).where(
        InterestGroup.name == name,
        InterestGroup.association_id == area.association_id
        if area.association_id is not None
        else InterestGroup.district_id == area.district_id,
    )
    if other_than is not None:
        query = query.where(InterestGroup.id != other_than)
    return session.scalar(query) is not None


def create(
    session: Session,
    clock: Clock,
    actor_id: int | None,
    area: Area,
    name: str,
    posters: Posters,
) -> InterestGroup:
    """A new group with a fresh code (the caller checked `may_manage_in`). Flushes."""
    cleaned = _clean_name(name)
    if _taken(session, area, cleaned):
        raise GroupError(StaffText("同じ名前のグループがあります"))
    now = clock.now()
    group = InterestGroup(
        association_id=area.association_id,
        district_id=area.district_id,
        name=cleaned,
        posters=posters,
        join_code=_new_code(session),
        created_by_id=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    audit.record(session, clock, actor_id, "interest_group.created", "interest_group", group.id)
    return group


def change(
    session: Session,
    clock: Clock,
    actor_id: int | None,
    group: InterestGroup,
    name: str,
    posters: Posters,
) -> None:
    cleaned = _clean_name(name)
    if _taken(session, area_of(group), cleaned, other_than=group.id):
        raise GroupError(StaffText("同じ名前のグループがあります"))
    group.name = cleaned
    group.posters = posters
    group.updated_at = clock.now()
    session.flush()
    audit.record(session, clock, actor_id, "interest_group.changed", "interest_group", group.id)


def _new_code(session: Session) -> str:
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(CODE.length))
        if session.scalar(select(InterestGroup.id).where(InterestGroup.join_code == body)) is None:
            return body


def area_of(group: InterestGroup) -> Area:
    return Area(group.association_id, group.district_id)


def listing(session: Session, area: Area) -> list[Listed]:
    """The area's groups by name, each with its following members; an association's list
    starts with 「役員会」."""
    groups = list(
        session.scalars(
            select(InterestGroup)
            .where(
                InterestGroup.association_id == area.association_id
                if area.association_id is not None
                else InterestGroup.district_id == area.district_id
            )
            .order_by(InterestGroup.name)
        )
    )
    counts: dict[int, int] = dict(
        session.execute(
            select(InterestMembership.interest_group_id, func.count())
            .join(Resident, Resident.id == InterestMembership.resident_id)
            .where(
                InterestMembership.interest_group_id.in_([g.id for g in groups]),
                Resident.follow_status == FollowStatus.following,
            )
            .group_by(InterestMembership.interest_group_id)
        ).all()
    )
    listed = [
        Listed(g.id, g.name, counts.get(g.id, 0), printed(g.join_code), g.posters) for g in groups
    ]
    if area.association_id is not None:
        staff = session.scalar(
            select(func.count()).where(
                Resident.line_user_id.in_(staff_line_ids([area.association_id])),
                Resident.follow_status == FollowStatus.following,
            )
        )
        listed.insert(0, Listed(None, STAFF_GROUP_NAME, int(staff or 0), None, None))
    return listed


@dataclass(frozen=True)
class Choice:
    """One interest group (or an association's 「役員会」) the viewer may send to."""

    kind: str  # "interest_groups" or "staff_of": the compose form's input
    id: int
    name: str
    area: str


def targetable(session: Session, scope: Scope) -> list[Choice]:
    """What the compose form offers besides areas: the interest groups `scope` may send to,
    and the 「役員会」 of its associations (an admin's city-wide list would be too long to
    offer: they pick an association's 役員会 as its officers do)."""
    if not scope.may_compose:
        return []
    associations: Iterable[Association] = (
        ()
        if scope.city
        else session.scalars(
            select(Association).where(scope.whole_areas().associations()).order_by(Association.kana)
        )
    )
    choices = [
        Choice("staff_of", association.id, STAFF_GROUP_NAME, association.name)
        for association in associations
    ]
    for group in managed(session, scope):
        if scope.may_target(session, Target.of(interest_groups=[group.id])):
            area = group.association or group.district
            assert area is not None  # noqa: S101 - the table's CHECK guarantees one area
            choices.append(Choice("interest_groups", group.id, group.name, area.name))
    return choices


def managed(session: Session, scope: Scope) -> list[InterestGroup]:
    """The groups `scope` may manage (`may_manage_in`), by name: those of the associations and
    districts it covers wholly."""
    if not scope.may_compose:
        return []
    whole = scope.whole_areas()
    return list(
        session.scalars(
            select(InterestGroup)
            .where(
                or_(
                    InterestGroup.association_id.in_(
                        select(Association.id).where(whole.associations())
                    ),
                    InterestGroup.district_id.in_(
                        select(District.id).where(whole.districts_whole())
                    ),
                )
            )
            .order_by(InterestGroup.name, InterestGroup.id)
        )
    )
