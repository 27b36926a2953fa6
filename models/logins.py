"""Single-use login links: a staff member asks the bot for one and opens it within minutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.staff import StaffMember


class LoginLink(Base):
    """One link, used at most once before `expires_at`.

    Only a SHA-256 of the token is stored: the token carries 256 random bits, so the hash cannot
    be reversed and a leaked table logs nobody in.
    """

    __tablename__ = "login_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    staff_member: Mapped[StaffMember] = relationship()


class DashboardSession(Base):
    """One dashboard login, from its link to logout, expiry or the loss of a role.

    The browser's signed cookie holds only a random id; the session lives as long as this row.
    Deleting the row ends the session, whatever copies of the cookie exist. Only a SHA-256 of
    the id is stored, as for login links.
    """

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
