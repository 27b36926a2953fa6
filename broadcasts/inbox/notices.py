"""What the inbox pushes (pushes.send_due sends it, each with its row's retry key): the short
notice to an officer that a resident wrote — the association and a link, never the body or who
wrote it, since LINE notifications show on a locked phone — and an officer's answer to the
resident, in their language around the officer's words. The answer is a message to a resident:
it costs quota, and a push the monthly limit meets waits like any other.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadcasts.core.i18n import locale_for, translations
from broadcasts.delivery.pushes import Push
from models import (
    Association,
    BatchStatus,
    FollowStatus,
    InboxMessage,
    InboxPush,
    InboxThread,
    Resident,
    StaffMember,
)

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement


def _due(now: datetime, to_officers: bool) -> ColumnElement[bool]:
    recipient = (
        InboxPush.staff_member_id.is_not(None)
        if to_officers
        else InboxPush.staff_member_id.is_(None)
    )
    return (
        (InboxPush.status == BatchStatus.pending)
        & recipient
        & or_(InboxPush.next_attempt_at.is_(None), InboxPush.next_attempt_at <= now)
    )


def next_notice(session: Session, now: datetime) -> InboxPush | None:
    """The next notice to an officer due (pushes.send_due's `next_due`)."""
    return session.scalars(
        select(InboxPush).where(_due(now, True)).order_by(InboxPush.id).limit(1)
    ).first()


def next_answer(session: Session, now: datetime) -> InboxPush | None:
    """The next answer to a resident due."""
    return session.scalars(
        select(InboxPush).where(_due(now, False)).order_by(InboxPush.id).limit(1)
    ).first()


def notice_push(session: Session, push: InboxPush, dashboard_url: str) -> Push:
    from linebot.v3.messaging import TextMessage

    assert push.staff_member_id is not None  # noqa: S101 - next_notice's rows
    member = session.get_one(StaffMember, push.staff_member_id)
    thread = _thread(session, push)
    association = session.get_one(Association, thread.association_id)
    return Push(
        member.line_user_id,
        [TextMessage(text=notice_text(association.name, thread.id, dashboard_url))],
    )


def notice_text(association_name: str, thread_id: int, dashboard_url: str) -> str:
    # Staff read LINE in Japanese, as the digest and the hold notices.
    return (
        f"【自治会へのメッセージ】{association_name}に住民からメッセージが届きました。"
        f"ダッシュボードで読んで返信できます：{dashboard_url.rstrip('/')}/inbox/{thread_id}"
    )


def answer_push(session: Session, push: InboxPush) -> Push:
    """The answer in the resident's language; nothing, with the reason, for a resident who
    blocked the bot or unregistered since."""
    from linebot.v3.messaging import TextMessage

    message = session.get_one(InboxMessage, push.message_id)
    thread = _thread(session, push)
    resident = session.get_one(Resident, thread.resident_id)
    if resident.follow_status is not FollowStatus.following:
        return Push(skip="not following")
    if resident.unregistered_at is not None:
        return Push(skip="unregistered")
    association = session.get_one(Association, thread.association_id)
    text = answer_text(association.name, message.body, resident.locale)
    return Push(resident.line_user_id, [TextMessage(text=text)])


def answer_text(association_name: str, body: str, language: str | None) -> str:
    _ = translations(locale_for(language)).gettext
    return _("【{name}からの返信】\n{body}\n\nまた書くときは「自治会へ」と送ってください。").format(
        name=association_name, body=body
    )


def _thread(session: Session, push: InboxPush) -> InboxThread:
    return session.scalars(
        select(InboxThread)
        .join(InboxMessage, InboxMessage.thread_id == InboxThread.id)
        .where(InboxMessage.id == push.message_id)
    ).one()
