"""Single-use login links for the dashboard: asked for in LINE (「ログイン」) or printed by
`kairan staff login-link` for the first admin.

The token is 32 random bytes (URL-safe); only its SHA-256 is stored. A link works once, for ten
minutes: it is claimed with a conditional UPDATE, so of two requests racing with the same link
exactly one sees a row change.

A used link starts a dashboard session: a row the browser's cookie names by a random id (only
its SHA-256 stored). Every dashboard request looks the row up; logging out, expiry and losing a
role delete it, so a copied cookie is worth nothing afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from models import DashboardSession, LoginLink, StaffMember, StaffRole

VALID_FOR = timedelta(minutes=10)
# Tokens are token_urlsafe(32): 43 characters. Anything much longer is not ours.
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime


def staff_member_for(session: Session, line_user_id: str) -> StaffMember | None:
    """The staff member behind a LINE account, with or without a role."""
    return session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == line_user_id)
    ).first()


def staff_with_roles(session: Session, line_user_id: str, now: datetime) -> StaffMember | None:
    """The staff member behind a LINE account, if they hold at least one role in force."""
    member = staff_member_for(session, line_user_id)
    if member is None:
        return None
    has_role = session.scalar(
        select(StaffRole.id)
        .where(
            StaffRole.staff_member_id == member.id,
            or_(StaffRole.ends_at.is_(None), StaffRole.ends_at > now),
        )
        .limit(1)
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


def start_session(session: Session, clock: Clock, staff_member_id: int, lifetime: timedelta) -> str:
    """A new dashboard session for the staff member; returns the id the cookie carries."""
    now = clock.now()
    # Logins are rare and the table holds live sessions only: expired rows go here.
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=token_hash(token),
            staff_member_id=staff_member_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def session_member(session: Session, clock: Clock, token: str) -> StaffMember | None:
    """The staff member whose live session the cookie names, in one query on a unique index;
    None when the session ended, expired or never existed. Reads only."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return session.scalars(
        select(StaffMember)
        .join(DashboardSession, DashboardSession.staff_member_id == StaffMember.id)
        .where(
            DashboardSession.token_hash == token_hash(token),
            DashboardSession.expires_at > clock.now(),
        )
    ).first()


def end_session(session: Session, token: str) -> None:
    session.execute(
        delete(DashboardSession).where(DashboardSession.token_hash == token_hash(token))
    )


def end_sessions_of(session: Session, staff_member_id: int) -> None:
    """Log the staff member out everywhere (a role was taken away)."""
    session.execute(
        delete(DashboardSession).where(DashboardSession.staff_member_id == staff_member_id)
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
