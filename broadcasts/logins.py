"""Single-use login links for the dashboard: asked for in LINE (「ログイン」) or printed by
`kairan staff login-link` for the first admin.

The token is 32 random bytes (URL-safe); only its SHA-256 is stored. A link works once, for ten
minutes: it is claimed with a conditional UPDATE, so of two requests racing with the same link
exactly one sees a row change.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcasts.clock import Clock
from models import LoginLink, StaffMember, StaffRole

VALID_FOR = timedelta(minutes=10)
# Tokens are token_urlsafe(32): 43 characters. Anything much longer is not ours.
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime


def staff_with_roles(session: Session, line_user_id: str) -> StaffMember | None:
    """The staff member behind a LINE account, if they hold at least one role."""
    member = session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == line_user_id)
    ).first()
    if member is None:
        return None
    has_role = session.scalar(
        select(StaffRole.id).where(StaffRole.staff_member_id == member.id).limit(1)
    )
    return member if has_role is not None else None


def issue(session: Session, clock: Clock, member: StaffMember) -> IssuedLink:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    link = LoginLink(
        token_hash=token_hash(token),
        staff_member_id=member.id,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    session.add(link)
    session.flush()
    return IssuedLink(token, link.expires_at)


def redeem(session: Session, clock: Clock, token: str) -> int | None:
    """The staff member id the link logs in, using the link up; None when it is unknown,
    expired or used (the reason is not told: it would only help someone guessing)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = clock.now()
    link = session.scalars(
        select(LoginLink).where(LoginLink.token_hash == token_hash(token))
    ).first()
    if link is None or link.used_at is not None or now >= link.expires_at:
        return None
    claimed: Any = session.execute(
        update(LoginLink)
        .where(LoginLink.id == link.id, LoginLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    return link.staff_member_id


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
