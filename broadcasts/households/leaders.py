"""What a 班長 does from LINE for the paper households of their 班 (代理確認): the circulars to
confirm for, the households still to confirm, one confirmation at a time.

The ids come from a phone's postback and may be forged: a circular is only shown to a 班長 whose
班 it reached, as `proxy_confirmation.proxy_confirm` requires before it records anything.
Plain results; the chat (linebot_app/chat/households.py) words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.households import paper, proxy_confirmation
from broadcasts.staff.scope import Scope, load
from models import Circular, Group, PaperHousehold, Role, StaffMember, StaffRole


@dataclass(frozen=True)
class Waiting:
    """A circular the 班 was sent, and its paper households nobody has confirmed for yet."""

    circular: Circular
    group_id: int
    households: list[proxy_confirmation.PaperStatus]


def group_leader(session: Session, line_user_id: str, now: datetime) -> StaffMember | None:
    """The staff member behind this LINE user if they are a 班長 (of any 班) in force."""
    return session.scalars(
        select(StaffMember)
        .join(StaffRole, StaffRole.staff_member_id == StaffMember.id)
        .where(
            StaffMember.line_user_id == line_user_id,
            StaffRole.role == Role.group_leader,
            or_(StaffRole.ends_at.is_(None), StaffRole.ends_at > now),
        )
    ).first()


def circulars_to_confirm(
    session: Session, leader: StaffMember, limit: int
) -> list[tuple[Circular, int]]:
    """The newest circulars of each 班 the 班長 leads, with the 班's id, 班 after 班."""
    found: list[tuple[Circular, int]] = []
    for role in leader.roles:
        if role.role is not Role.group_leader or role.group_id is None:
            continue
        group = session.get_one(Group, role.group_id)
        found.extend(
            (circular, group.id)
            for circular in proxy_confirmation.recent_for_group(session, group.id, limit=limit)
        )
    return found


def waiting(
    session: Session, now: datetime, leader: StaffMember, circular_id: int, group_id: int
) -> Waiting | None:
    """The 班's paper households still to confirm for the circular; None when the 班長 may not
    confirm for this 班, or the circular is not one the 班 was sent."""
    return _waiting(session, load(session, leader.id, now), circular_id, group_id)


def confirm(
    session: Session, clock: Clock, leader: StaffMember, circular_id: int, paper_household_id: int
) -> Waiting | None:
    """Record that the paper household saw the circular; then what `waiting` says of its 班.
    Raises PaperError when the 班長 may not confirm for it."""
    scope = load(session, leader.id, clock.now())
    proxy_confirmation.proxy_confirm(session, clock, scope, circular_id, paper_household_id)
    group_id = session.get_one(PaperHousehold, paper_household_id).group_id
    return _waiting(session, scope, circular_id, group_id)


def _waiting(session: Session, scope: Scope, circular_id: int, group_id: int) -> Waiting | None:
    circular = session.get(Circular, circular_id)
    if (
        circular is None
        or circular.released_at is None
        or not scope.leads_group(session, group_id)
        or session.scalar(paper.groups_reached(circular).where(Group.id == group_id)) is None
    ):
        return None
    households = [
        s
        for s in proxy_confirmation.statuses(session, circular_id, group_id)
        if s.confirmation is None
    ]
    return Waiting(circular, group_id, households)
