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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.core.invite_codes import InviteCode, code_hash
from broadcasts.staff import logins
from models import Association, District, Group, Role, StaffInvite, StaffMember, StaffRole

VALID_FOR = timedelta(days=7)
CODE = InviteCode("KAIRAN", 16)


class InviteError(ValueError):
    """The invite cannot be made as asked; the message says why, in both languages."""


@dataclass(frozen=True)
class Invite:
    code: str
    role: Role
    area: str | None
    expires_at: datetime


def create_invite(
    session: Session,
    clock: Clock,
    role: Role,
    district_code: str | None = None,
    association_code: str | None = None,
    group_name: str | None = None,
) -> Invite:
    district: District | None = None
    association: Association | None = None
    group: Group | None = None
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
    elif role is Role.group_leader:
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
    elif role is Role.officer:
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
    elif district_code or association_code:
        raise InviteError("管理者は市全体です / an admin covers the whole city: no area")
    code, hashed = CODE.issue()
    now = clock.now()
    invite = StaffInvite(
        code_hash=hashed,
        role=role,
        district=district,
        association=association,
        group=group,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    session.add(invite)
    session.flush()
    area = district.name if district else association.name if association else None
    if group is not None:
        area = f"{group.association.name} {group.name}"
    return Invite(code, role, area, invite.expires_at)


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
    if now > invite.expires_at:
        return Redeemed("expired", invite.role, area)
    member = session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == line_user_id)
    ).first()
    if member is None:
        member = StaffMember(line_user_id=line_user_id, display_name=display_name, created_at=now)
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
        )
    )
    session.flush()
    return Redeemed("linked", invite.role, area)


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
