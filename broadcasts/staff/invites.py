"""Staff invites: a one-time code printed by `kairan staff invite`, sent to the bot in LINE.

The code is 16 random characters of Crockford's base32 (80 bits) behind a readable prefix,
grouped in fours so it can be read over the phone: KAIRAN-7F3K-Q9ZD-M2XA-4HTC. Only its SHA-256 is
stored. What the staff member types is normalised (full-width, lower case, spaces, dashes, and
the letters Crockford reads as digits) before hashing, so small slips still match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.core.invite_codes import InviteCode, code_hash
from broadcasts.staff import audit, logins
from broadcasts.staff.scope import Scope
from models import Association, District, Group, Role, StaffInvite, StaffMember, StaffRole

VALID_FOR = timedelta(days=7)
# A hand-over code is given ahead of the change (March for April): it lasts longer.
HAND_OVER_VALID_FOR = timedelta(days=30)
CODE = InviteCode("KAIRAN", 16)


class InviteError(ValueError):
    """The invite cannot be made as asked; the message says why, in both languages."""


@dataclass(frozen=True)
class Invite:
    code: str
    role: Role
    area: str | None
    expires_at: datetime
    invitee_name: str | None = None


@dataclass(frozen=True)
class Area:
    """Where a role applies: a district (promoter), an association (officer), a 班 (班長), or
    nothing (admin: the city)."""

    district: District | None = None
    association: Association | None = None
    group: Group | None = None

    @property
    def name(self) -> str | None:
        if self.group is not None:
            return f"{self.group.association.name} {self.group.name}"
        if self.association is not None:
            return self.association.name
        return self.district.name if self.district is not None else None


def find_area(
    session: Session,
    role: Role,
    district_code: str | None = None,
    association_code: str | None = None,
    group_name: str | None = None,
) -> Area:
    """The area a role of `role` would cover, named by codes as people type them; InviteError
    (bilingual) when the codes do not fit the role or name nothing."""
    if group_name and role is not Role.group_leader:
        raise InviteError("班は班長の招待だけに使います / --group is for a group leader only")
    if role is Role.promoter:
        if not district_code or association_code:
            raise InviteError("推進員には --district が必要です / a promoter needs --district")
        district = session.scalars(select(District).where(District.code == district_code)).first()
        if district is None:
            raise InviteError(
                f"校区コード {district_code} が見つかりません / no district {district_code}"
            )
        return Area(district=district)
    if role is Role.group_leader:
        if not association_code or not group_name or district_code:
            raise InviteError(
                "班長には --association と --group が必要です"
                " / a group leader needs --association and --group"
            )
        group = session.scalars(
            select(Group)
            .join(Association, Association.id == Group.association_id)
            .where(Association.code == association_code, Group.name == group_name)
        ).first()
        if group is None:
            raise InviteError(
                f"自治会 {association_code} に班「{group_name}」が見つかりません"
                f" / no group {group_name} in association {association_code}"
            )
        return Area(group=group)
    if role is Role.officer:
        if not association_code or district_code:
            raise InviteError("役員には --association が必要です / an officer needs --association")
        association = session.scalars(
            select(Association).where(Association.code == association_code)
        ).first()
        if association is None:
            raise InviteError(
                f"自治会コード {association_code} が見つかりません"
                f" / no association {association_code}"
            )
        return Area(association=association)
    if district_code or association_code:
        raise InviteError("管理者は市全体です / an admin covers the whole city: no area")
    return Area()


# --- who may appoint whom -----------------------------------------------------------------------

NOT_YOURS = (
    "この役割・範囲の招待はできません（招待できるのは自分より下の役割、自分の範囲の中だけです）"
    " / you may invite only roles below your own, inside your area"
)


def appointable_roles(scope: Scope) -> list[Role]:
    """The roles a viewer may invite, highest first: an admin any; a promoter officers (and
    班長) in their districts; an officer 班長 in their associations; a 班長 none."""
    if scope.city:
        return [Role.admin, Role.promoter, Role.officer, Role.group_leader]
    if scope.district_ids:
        return [Role.officer, Role.group_leader]
    if scope.association_ids:
        return [Role.group_leader]
    return []


def may_appoint(
    session: Session,
    scope: Scope,
    role: Role,
    district_id: int | None,
    association_id: int | None,
    group_id: int | None,
) -> bool:
    """Whether the scope may invite (or hand over, or remove) a role of `role` for the area:
    only below its own role, and inside its own area."""
    if scope.city:
        return True
    if role is Role.officer and association_id is not None and scope.district_ids:
        found = session.scalar(
            select(Association.id).where(
                Association.id == association_id,
                Association.district_id.in_(scope.district_ids),
            )
        )
        return found is not None
    if role is Role.group_leader and group_id is not None:
        found = session.scalar(
            select(Group.id)
            .join(Association, Association.id == Group.association_id)
            .where(
                Group.id == group_id,
                or_(
                    Association.district_id.in_(scope.district_ids),
                    Association.id.in_(scope.association_ids),
                ),
            )
        )
        return found is not None
    return False


def may_manage_role(session: Session, scope: Scope, role: StaffRole) -> bool:
    return may_appoint(
        session, scope, role.role, role.district_id, role.association_id, role.group_id
    )


def may_hand_over(session: Session, scope: Scope, role: StaffRole) -> bool:
    """An officer hands over their own role (and the 班長 roles of their association); an admin
    any role; a promoter the roles they may appoint."""
    own_officer = role.staff_member_id == scope.staff_member_id and role.role is Role.officer
    return own_officer or may_manage_role(session, scope, role)


# --- making codes -------------------------------------------------------------------------------


def create_invite(
    session: Session,
    clock: Clock,
    role: Role,
    district_code: str | None = None,
    association_code: str | None = None,
    group_name: str | None = None,
    *,
    inviter: Scope | None = None,
    invitee_name: str | None = None,
    role_ends_at: datetime | None = None,
    valid_for: timedelta = VALID_FOR,
) -> Invite:
    """A code for a role over the area the codes name. `inviter` None: a server command, which
    may appoint anyone; otherwise the inviter's scope must allow it (`may_appoint`)."""
    area = find_area(session, role, district_code, association_code, group_name)
    return issue(
        session,
        clock,
        role,
        area,
        inviter=inviter,
        invitee_name=invitee_name,
        role_ends_at=role_ends_at,
        valid_for=valid_for,
    )


def issue(
    session: Session,
    clock: Clock,
    role: Role,
    area: Area,
    *,
    inviter: Scope | None = None,
    invitee_name: str | None = None,
    role_ends_at: datetime | None = None,
    valid_for: timedelta = VALID_FOR,
    replaces: StaffRole | None = None,
    inviter_id: int | None = None,
) -> Invite:
    now = clock.now()
    district_id = area.district.id if area.district else None
    association_id = area.association.id if area.association else None
    group_id = area.group.id if area.group else None
    if inviter is not None and not may_appoint(
        session, inviter, role, district_id, association_id, group_id
    ):
        raise InviteError(NOT_YOURS)
    if role_ends_at is not None and role_ends_at <= now:
        raise InviteError("任期の終わりが過ぎています / the term end has passed")
    code, hashed = CODE.issue()
    invite = StaffInvite(
        code_hash=hashed,
        role=role,
        district_id=district_id,
        association_id=association_id,
        group_id=group_id,
        created_at=now,
        expires_at=now + valid_for,
        invited_by_id=inviter.staff_member_id if inviter is not None else inviter_id,
        invitee_name=invitee_name or None,
        role_ends_at=role_ends_at,
        replaces_role_id=replaces.id if replaces is not None else None,
    )
    session.add(invite)
    session.flush()
    return Invite(code, role, area.name, invite.expires_at, invitee_name or None)


def hand_over(
    session: Session,
    clock: Clock,
    scope: Scope,
    role: StaffRole,
    invitee_name: str | None = None,
    role_ends_at: datetime | None = None,
) -> Invite:
    """A code for the successor of `role`, bound to the same role and area. When it is redeemed
    the predecessor's role goes (their dashboard sessions end with it); what they sent stays
    theirs. A new hand-over code for the role replaces any earlier unused one."""
    if not may_hand_over(session, scope, role):
        raise InviteError(NOT_YOURS)
    session.execute(
        delete(StaffInvite).where(
            StaffInvite.replaces_role_id == role.id, StaffInvite.used_at.is_(None)
        )
    )
    area = Area(role.district, role.association, role.group)
    # The hand-over itself is checked above (an officer hands over their own role, which they
    # could not appoint): the code is issued as the server would.
    return issue(
        session,
        clock,
        role.role,
        area,
        invitee_name=invitee_name,
        role_ends_at=role_ends_at,
        replaces=role,
        inviter_id=scope.staff_member_id,
        valid_for=HAND_OVER_VALID_FOR,
    )


@dataclass(frozen=True)
class Redeemed:
    status: Literal["linked", "already", "unknown", "expired", "used"]
    role: Role | None = None
    area: str | None = None


def redeem(
    session: Session, clock: Clock, line_user_id: str, code: str, display_name: str | None
) -> Redeemed:
    """Give the sender the invite's role. Every refusal changes nothing."""
    invite = session.scalars(
        select(StaffInvite).where(StaffInvite.code_hash == code_hash(code))
    ).first()
    if invite is None:
        return Redeemed("unknown")
    area = invite.district.name if invite.district else None
    area = invite.association.name if invite.association else area
    if invite.group is not None:
        area = f"{invite.group.association.name} {invite.group.name}"
    now = clock.now()
    if invite.used_at is not None:
        return Redeemed("used", invite.role, area)
    if now > invite.expires_at or (invite.role_ends_at is not None and invite.role_ends_at <= now):
        return Redeemed("expired", invite.role, area)
    member = session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == line_user_id)
    ).first()
    if member is None:
        # The name the city addressed the letter to is the one staff know; else LINE's.
        member = StaffMember(
            line_user_id=line_user_id,
            display_name=invite.invitee_name or display_name,
            created_at=now,
        )
        session.add(member)
        session.flush()
    if any(
        role.role is invite.role
        and role.district_id == invite.district_id
        and role.association_id == invite.association_id
        and role.group_id == invite.group_id
        for role in member.roles
    ):
        return Redeemed("already", invite.role, area)
    # Claimed with a conditional UPDATE: of two people sending the same code at once, exactly
    # one sees a row change.
    claimed: Any = session.execute(
        update(StaffInvite)
        .where(StaffInvite.id == invite.id, StaffInvite.used_at.is_(None))
        .values(used_at=now, used_by_id=member.id)
    )
    if claimed.rowcount != 1:
        return Redeemed("used", invite.role, area)
    member.roles.append(
        StaffRole(
            role=invite.role,
            district_id=invite.district_id,
            association_id=invite.association_id,
            group_id=invite.group_id,
            granted_at=now,
            ends_at=invite.role_ends_at,
        )
    )
    session.flush()
    if invite.replaces_role_id is not None:
        _retire(session, clock, invite, member.id)
    return Redeemed("linked", invite.role, area)


def _retire(session: Session, clock: Clock, invite: StaffInvite, successor_id: int) -> None:
    """The successor holds the role now: the predecessor's goes, with their dashboard sessions
    and any other unused code handing it over. Their circulars and audit entries stay theirs."""
    predecessor = session.get(StaffRole, invite.replaces_role_id)
    if predecessor is None or predecessor.staff_member_id == successor_id:
        return
    audit.record(
        session,
        clock,
        invite.invited_by_id,
        "role.handed_over",
        "staff_member",
        predecessor.staff_member_id,
        role=predecessor.role.value,
        district_id=predecessor.district_id,
        association_id=predecessor.association_id,
        group_id=predecessor.group_id,
        successor=successor_id,
    )
    session.execute(
        delete(StaffInvite).where(
            StaffInvite.replaces_role_id == predecessor.id,
            StaffInvite.used_at.is_(None),
        )
    )
    logins.end_sessions_of(session, predecessor.staff_member_id)
    session.delete(predecessor)
    session.flush()


def remove_role(session: Session, role: StaffRole) -> None:
    """Take a role away. The member's dashboard sessions end with it: what they may see was
    granted with that role, and they log in again with whatever roles they still hold.
    The city's last admin role stays: without it nobody could appoint staff from the dashboard."""
    if role.role is Role.admin:
        admins = session.scalar(
            select(func.count()).select_from(StaffRole).where(StaffRole.role == Role.admin)
        )
        if admins == 1:
            raise Refused(
                StaffText(
                    "最後の管理者の役割は外せません。先にほかの人を管理者に招待してください。"
                )
            )
    logins.end_sessions_of(session, role.staff_member_id)
    session.delete(role)
    session.flush()
