"""Composing a circular in LINE, the service side: the conversation's place, one ComposeSession
row per staff member, kept with an ordinary draft Circular so a half-finished one survives
restarts. What each step does with what the author sends is in `compose_steps`.

A draft left alone for 24 hours is discarded: when its author next writes (`open_session`), or
by the clock (`discard_stale`, whose notices it pushes). Functions flush and return plain values;
the chat (linebot_app/chat/composing.py) words them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import locale_for, translations
from broadcasts.staff import logins
from broadcasts.staff.scope import Scope
from models import Circular, CircularStatus, ComposeSession, ComposeStep, StaffMember

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=24)
# Steps whose postbacks may spend or show quota: the edge reads it before the transaction.
QUOTA_STEPS = (ComposeStep.confirmation, ComposeStep.preview)


@dataclass(frozen=True)
class Opened:
    """The staff member (None: not staff), their live compose session, if any, and the title of
    a draft discarded just now because it was left for 24 hours (its author is told)."""

    member: StaffMember | None
    state: ComposeSession | None
    discarded: str | None = None


@dataclass(frozen=True)
class StaleNotice:
    """A push for the author of a discarded draft (sent by the clock, after its commit)."""

    staff_member_id: int
    line_user_id: str
    text: str


# --- the session ------------------------------------------------------------------------------


def active_step(session: Session, line_user_id: str) -> ComposeStep | None:
    """The step of this LINE user's compose session, if they are staff and have one (read only;
    the edge asks before its transaction to know what to fetch)."""
    return session.scalars(
        select(ComposeSession.step)
        .join(StaffMember, StaffMember.id == ComposeSession.staff_member_id)
        .where(StaffMember.line_user_id == line_user_id)
    ).first()


def open_session(session: Session, clock: Clock, line_user_id: str) -> Opened:
    """The staff member and their live compose session; a stale one is discarded on the way."""
    member = logins.staff_member_for(session, line_user_id)
    if member is None:
        return Opened(None, None)
    state = session.get(ComposeSession, member.id)
    if state is None:
        return Opened(member, None)
    if state.updated_at < clock.now() - STALE_AFTER:
        title = state.circular.title
        discard(session, state)
        return Opened(member, None, discarded=title)
    if state.circular.status is not CircularStatus.draft:
        # Sent, scheduled or cancelled elsewhere (the dashboard, the CLI): the conversation ends.
        session.delete(state)
        session.flush()
        return Opened(member, None)
    return Opened(member, state)


def may_compose(session: Session, member: StaffMember | None) -> bool:
    return member is not None and Scope.of_member(member).may_compose


def start(session: Session, clock: Clock, member: StaffMember) -> ComposeSession:
    """A new, empty draft and the conversation about it, at its title (check `may_compose`)."""
    circular = Circular(author_id=member.id, title="", body="")
    session.add(circular)
    session.flush()
    state = ComposeSession(
        staff_member_id=member.id,
        circular_id=circular.id,
        step=ComposeStep.title,
        page=0,
        browsing="",
        updated_at=clock.now(),
    )
    session.add(state)
    session.flush()
    log.info("LINE draft %s started by staff %s", circular.id, member.id)
    return state


def discard(session: Session, state: ComposeSession) -> None:
    circular = state.circular
    session.delete(state)
    if circular.status is CircularStatus.draft:
        # Never sent, never seen by anyone: nothing to keep. Its files are left unreferenced.
        session.delete(circular)
    session.flush()


def cancel(session: Session, state: ComposeSession) -> None:
    log.info("LINE draft %s cancelled", state.circular_id)
    discard(session, state)


def end_unpermitted(session: Session, state: ComposeSession) -> None:
    """The author's scope no longer covers the draft (a role taken away): the conversation ends,
    and the draft stays for staff whose scope does."""
    log.info("LINE draft %s: its author may no longer manage it", state.circular_id)
    session.delete(state)
    session.flush()


def stale_notice(title: str, language: str | None = None) -> str:
    """What the author of a draft discarded after 24 hours is told: pushed by the clock, or
    answered to their next message. Worded here, with the residents' catalogue, because the
    clock process pushes it and has no chat layer to ask (like its welcomes and digests)."""
    _ = translations(locale_for(language)).gettext
    name = title or _("（題名なし）")
    return _("書きかけの回覧「{title}」は、24時間たったので消しました。").format(title=name)


def discard_stale(session: Session, clock: Clock) -> list[StaleNotice]:
    """Drop compose sessions untouched for 24 hours with their drafts; the notices to push.

    For the clock: call in a transaction, commit, then push each notice."""
    notices: list[StaleNotice] = []
    stale = session.scalars(
        select(ComposeSession).where(ComposeSession.updated_at < clock.now() - STALE_AFTER)
    ).all()
    for state in stale:
        member = state.staff_member
        text = stale_notice(state.circular.title)
        notices.append(StaleNotice(member.id, member.line_user_id, text))
        log.info("stale LINE draft %s of staff %s discarded", state.circular_id, member.id)
        discard(session, state)
    return notices
