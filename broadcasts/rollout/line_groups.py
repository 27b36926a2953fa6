"""The association's LINE group: an officer gets a one-time link code on the dashboard and
types it in a LINE group the bot was invited to; the group is then linked to the association and
circulars may also be posted there (broadcasts.circulars.group_posts). The bot leaves when the
group removes it or an officer asks.

Only the group's LINE id, its member count and who linked it are kept. What members say is
never read beyond asking whether it is a link code, and never stored or logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.invite_codes import InviteCode, code_hash
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import Association, LineGroup, LineGroupCode

# 「RENKEI-XXXX-XXXX」: 40 random bits, single use, for a day.
CODE = InviteCode("RENKEI", 8)
CODE_VALID_FOR = timedelta(hours=24)


class NotYours(Exception):
    """The viewer is neither an officer of the association nor an admin (the edge answers 404)."""


@dataclass(frozen=True)
class Linked:
    """A group just linked by code: the association's name, for the one reply in the group."""

    association_name: str


def may_manage(scope: Scope, association_id: int) -> bool:
    """An association's officers and the admins link its group and ask the bot to leave."""
    return scope.city or association_id in scope.association_ids


def issue_code(session: Session, clock: Clock, scope: Scope, association_id: int) -> str:
    """A new link code for the association, as shown once on the dashboard."""
    if not may_manage(scope, association_id):
        raise NotYours
    shown, hashed = CODE.issue()
    now = clock.now()
    session.add(
        LineGroupCode(
            code_hash=hashed,
            association_id=association_id,
            issued_by_id=scope.staff_member_id,
            created_at=now,
            expires_at=now + CODE_VALID_FOR,
        )
    )
    audit.record(
        session, clock, scope.staff_member_id, "line_group.code", "association", association_id
    )
    session.flush()
    return shown


def typed_code(text: str) -> str | None:
    """The code's random part when `text` is a link code (right or wrong), else None."""
    return CODE.typed(text)


def link(
    session: Session, clock: Clock, line_group_id: str, typed: str, member_count: int
) -> Linked | None:
    """Link the group with the code typed in it; None for a code unknown, used or expired."""
    now = clock.now()
    code = session.scalar(
        select(LineGroupCode)
        .where(
            LineGroupCode.code_hash == code_hash(typed),
            LineGroupCode.used_at.is_(None),
            LineGroupCode.expires_at > now,
        )
        .with_for_update()
    )
    if code is None:
        return None
    code.used_at = now
    group = session.scalar(select(LineGroup).where(LineGroup.line_group_id == line_group_id))
    if group is None:
        group = LineGroup(line_group_id=line_group_id)
        session.add(group)
    group.association_id = code.association_id
    group.linked_by_id = code.issued_by_id
    group.linked_at = now
    group.member_count = member_count
    group.active = True
    group.left_at = None
    session.flush()
    audit.record(session, clock, code.issued_by_id, "line_group.linked", "line_group", group.id)
    association = session.get_one(Association, code.association_id)
    return Linked(association.name)


def left(session: Session, clock: Clock, line_group_id: str) -> None:
    """The bot is no longer in the group (removed, or it left): nothing more is posted there."""
    group = session.scalar(select(LineGroup).where(LineGroup.line_group_id == line_group_id))
    if group is not None and group.active:
        group.active = False
        group.left_at = clock.now()
        session.flush()


def members_changed(session: Session, line_group_id: str, change: int) -> None:
    """Members joined (+) or left (−): what a post there will cost."""
    group = session.scalar(select(LineGroup).where(LineGroup.line_group_id == line_group_id))
    if group is not None:
        group.member_count = max(group.member_count + change, 0)
        session.flush()


def of_association(session: Session, association_id: int) -> list[LineGroup]:
    """The association's groups the bot is in, oldest link first."""
    return list(
        session.scalars(
            select(LineGroup)
            .where(LineGroup.association_id == association_id, LineGroup.active.is_(True))
            .order_by(LineGroup.linked_at, LineGroup.id)
        )
    )


def in_scope(session: Session, scope: Scope) -> list[LineGroup]:
    """The linked groups of the associations `scope` covers whole (those it may send to)."""
    whole = scope.whole_areas()
    return list(
        session.scalars(
            select(LineGroup)
            .join(Association, Association.id == LineGroup.association_id)
            .where(LineGroup.active.is_(True), whole.associations())
            .order_by(Association.name, LineGroup.id)
        )
    )


def ask_to_leave(session: Session, clock: Clock, scope: Scope, group_id: int) -> str:
    """An officer asks the bot to leave the group: it is unlinked now, and the edge calls LINE's
    leave after the commit. Returns the LINE group id."""
    group = session.get(LineGroup, group_id)
    if group is None or not group.active or not may_manage(scope, group.association_id):
        raise NotYours
    group.active = False
    group.left_at = clock.now()
    audit.record(session, clock, scope.staff_member_id, "line_group.left", "line_group", group.id)
    session.flush()
    return group.line_group_id
