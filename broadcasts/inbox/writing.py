"""A resident writes to their association: 「自治会へ」 alone makes the very next text the
message (`prompt`, `take_prompt`, as 「表示名の変更」 does); `write` keeps it in the resident's
thread and, when the thread needs them anew, makes a short notice for each of the
association's officers, without the body.

A resident's thread stays theirs until an officer marks it 完了: what they write meanwhile joins
it and makes it 未対応 again. At most `DAILY_LIMIT` messages a resident in any 24 hours, counted
from the messages kept. The body is personal data: never logged, exported with the resident,
deleted when they are erased (`forget`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.staff import terms
from models import (
    InboxMessage,
    InboxPrompt,
    InboxPush,
    InboxThread,
    Resident,
    Role,
    StaffRole,
    ThreadStatus,
)

# Long enough for a broken street light with its place; LINE allows 5,000.
BODY_LIMIT = 1000
# Messages a resident may send in any 24 hours: enough for a real matter, not for a flood.
DAILY_LIMIT = 5
RATE_WINDOW = timedelta(hours=24)
# After 「自治会へ」 the next message is the one to send only for a while, as for 「検索」.
PROMPT_WAIT = timedelta(minutes=10)

Written = Literal["sent", "empty", "too_long", "not_registered", "too_many"]


def prompt(session: Session, clock: Clock, resident: Resident) -> None:
    """「自治会へ」 alone: the bot waits for the message (`take_prompt`)."""
    waiting = session.get(InboxPrompt, resident.id)
    if waiting is None:
        session.add(InboxPrompt(resident_id=resident.id, prompted_at=clock.now()))
    else:
        waiting.prompted_at = clock.now()
    session.flush()


def take_prompt(session: Session, clock: Clock, resident: Resident) -> bool:
    """Use up a pending 「自治会へ」: True when the bot was (still) waiting for the message.
    Called for every text, so the prompt only ever applies to the very next one."""
    waiting = session.get(InboxPrompt, resident.id)
    if waiting is None:
        return False
    session.delete(waiting)
    session.flush()
    return waiting.prompted_at > clock.now() - PROMPT_WAIT


def registered(resident: Resident) -> bool:
    return resident.association_id is not None and resident.unregistered_at is None


def write(session: Session, clock: Clock, resident: Resident, text: str) -> Written:
    """Keep `text` as the resident's message to their association, with a notice for each of
    its officers; or say why not."""
    if not registered(resident):
        return "not_registered"
    body = text.strip()
    if not body:
        return "empty"
    if len(body) > BODY_LIMIT:
        return "too_long"
    now = clock.now()
    sent_lately = session.scalar(
        select(func.count())
        .select_from(InboxMessage)
        .where(InboxMessage.resident_id == resident.id, InboxMessage.created_at > now - RATE_WINDOW)
    )
    if (sent_lately or 0) >= DAILY_LIMIT:
        return "too_many"
    assert resident.association_id is not None  # noqa: S101 - registered() above
    thread = session.scalars(
        select(InboxThread)
        .where(
            InboxThread.resident_id == resident.id,
            InboxThread.association_id == resident.association_id,
            InboxThread.status != ThreadStatus.done,
        )
        .order_by(InboxThread.id.desc())
        .limit(1)
    ).first()
    # Officers hear of a thread when it needs them anew, not of every line added while it
    # still waits: each notice costs a message of the month's quota.
    tell = thread is None or thread.status is not ThreadStatus.open
    if thread is None:
        thread = InboxThread(
            association_id=resident.association_id, resident_id=resident.id, created_at=now
        )
        session.add(thread)
    thread.status = ThreadStatus.open
    thread.updated_at = now
    session.flush()
    message = InboxMessage(thread_id=thread.id, resident_id=resident.id, body=body, created_at=now)
    session.add(message)
    session.flush()
    if tell:
        for officer_id in officers(session, clock, resident.association_id):
            session.add(InboxPush(message_id=message.id, staff_member_id=officer_id))
    session.flush()
    return "sent"


def officers(session: Session, clock: Clock, association_id: int) -> list[int]:
    """The association's officers whose term runs: who reads its inbox and hears of it."""
    return list(
        session.scalars(
            select(StaffRole.staff_member_id)
            .where(
                StaffRole.role == Role.officer,
                StaffRole.association_id == association_id,
                terms.in_force(clock.now()),
            )
            .distinct()
            .order_by(StaffRole.staff_member_id)
        )
    )


def forget(session: Session, resident_id: int) -> None:
    """Erasing a resident (residents.privacy.anonymise): their threads go with every message
    and push, answers included; so does a pending prompt."""
    threads = select(InboxThread.id).where(InboxThread.resident_id == resident_id)
    messages = select(InboxMessage.id).where(InboxMessage.thread_id.in_(threads))
    session.execute(delete(InboxPush).where(InboxPush.message_id.in_(messages)))
    session.execute(delete(InboxMessage).where(InboxMessage.thread_id.in_(threads)))
    session.execute(delete(InboxThread).where(InboxThread.resident_id == resident_id))
    session.execute(delete(InboxPrompt).where(InboxPrompt.resident_id == resident_id))
    session.flush()
