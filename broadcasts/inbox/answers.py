"""The officers' side of the inbox: the association's threads (paged, by status), one thread
with its messages, an answer (pushed to the resident once, `notices`) and the status.

Only the association's officers read and answer (`Scope.reads_inbox_of`): anyone else gets
`NotYours`, which the dashboard answers with 404 whether or not the thread exists. The resident
shows by the name staff see (households.labels.staff_name), never by their LINE id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.households.labels import staff_name
from broadcasts.inbox.writing import BODY_LIMIT
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import (
    Association,
    Group,
    InboxMessage,
    InboxPush,
    InboxThread,
    Resident,
    StaffMember,
    ThreadStatus,
)

PAGE_SIZE = 30


class NotYours(Exception):
    """The thread is outside the staff member's inbox (the dashboard answers 404)."""


class AnswerRefused(Refused):
    """The answer was not sent; `message` says why."""


@dataclass(frozen=True)
class Row:
    thread_id: int
    association_name: str
    # The name staff see (`staff_name`); None shows as （名前なし）.
    name: str | None
    group_name: str | None
    status: ThreadStatus
    updated_at: datetime
    messages: int


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    page: int
    pages: int
    total: int


def listing(session: Session, scope: Scope, status: ThreadStatus | None, page: int) -> Listing:
    """The threads of the associations whose inbox `scope` reads, the most recently written
    first, `PAGE_SIZE` a page; only those of `status` when given."""
    where: list[ColumnElement[bool]] = [InboxThread.association_id.in_(scope.association_ids)]
    if status is not None:
        where.append(InboxThread.status == status)
    total = session.scalar(select(func.count()).select_from(InboxThread).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    counted = (
        select(func.count())
        .where(InboxMessage.thread_id == InboxThread.id)
        .correlate(InboxThread)
        .scalar_subquery()
    )
    found = session.execute(
        select(
            InboxThread.id,
            Association.name,
            staff_name(),
            Group.name,
            InboxThread.status,
            InboxThread.updated_at,
            counted,
        )
        .join(Association, Association.id == InboxThread.association_id)
        .join(Resident, Resident.id == InboxThread.resident_id)
        .outerjoin(Group, Group.id == Resident.group_id)
        .where(*where)
        .order_by(InboxThread.updated_at.desc(), InboxThread.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Listing([Row(*row) for row in found], page, pages, total)


@dataclass(frozen=True)
class Said:
    id: int
    body: str
    at: datetime
    # None: the resident wrote it; else the answering officer's name.
    officer: str | None
    from_resident: bool
    has_photo: bool


@dataclass(frozen=True)
class Thread:
    id: int
    association_name: str
    name: str | None
    group_name: str | None
    status: ThreadStatus
    messages: list[Said]


def thread(session: Session, scope: Scope, thread_id: int) -> Thread:
    """One thread with its messages, oldest first, for an officer of its association."""
    found = _checked(session, scope, thread_id)
    name, group_name = session.execute(
        select(staff_name(), Group.name)
        .select_from(Resident)
        .outerjoin(Group, Group.id == Resident.group_id)
        .where(Resident.id == found.resident_id)
    ).one()
    said = session.execute(
        select(
            InboxMessage.id,
            InboxMessage.body,
            InboxMessage.created_at,
            StaffMember.display_name,
            InboxMessage.answered_by_id,
            InboxMessage.photo_name,
        )
        .outerjoin(StaffMember, StaffMember.id == InboxMessage.answered_by_id)
        .where(InboxMessage.thread_id == found.id)
        .order_by(InboxMessage.created_at, InboxMessage.id)
    )
    messages = [
        Said(id_, body, at, officer if by is not None else None, by is None, photo is not None)
        for id_, body, at, officer, by, photo in said
    ]
    association = session.get_one(Association, found.association_id)
    return Thread(found.id, association.name, name, group_name, found.status, messages)


def photo_of(session: Session, scope: Scope, thread_id: int, message_id: int) -> str:
    """The file name of a message's photo, for an officer of the thread's association."""
    found = _checked(session, scope, thread_id)
    name = session.scalar(
        select(InboxMessage.photo_name).where(
            InboxMessage.id == message_id, InboxMessage.thread_id == found.id
        )
    )
    if name is None:
        raise NotYours
    return name


def _checked(session: Session, scope: Scope, thread_id: int) -> InboxThread:
    found = session.get(InboxThread, thread_id)
    if found is None or not scope.reads_inbox_of(found.association_id):
        raise NotYours
    return found


def answer(session: Session, clock: Clock, scope: Scope, thread_id: int, text: str) -> None:
    """An officer's answer: kept in the thread and pushed to the resident once (`notices`);
    a thread still 未対応 becomes 対応中."""
    found = _checked(session, scope, thread_id)
    body = text.strip()
    if not body:
        raise AnswerRefused(StaffText("返信を書いてください"))
    if len(body) > BODY_LIMIT:
        raise AnswerRefused(StaffText("返信は%(limit)s文字までにしてください", limit=BODY_LIMIT))
    now = clock.now()
    message = InboxMessage(
        thread_id=found.id, answered_by_id=scope.staff_member_id, body=body, created_at=now
    )
    session.add(message)
    if found.status is ThreadStatus.open:
        found.status = ThreadStatus.in_progress
        found.status_set_by_id, found.status_set_at = scope.staff_member_id, now
    found.updated_at = now
    session.flush()
    session.add(InboxPush(message_id=message.id, staff_member_id=None))
    audit.record(session, clock, scope.staff_member_id, "inbox.answered", "inbox_thread", found.id)
    session.flush()


def set_status(
    session: Session, clock: Clock, scope: Scope, thread_id: int, status: ThreadStatus
) -> bool:
    """Set the thread's status; False when it had it already."""
    found = _checked(session, scope, thread_id)
    if found.status is status:
        return False
    found.status = status
    found.status_set_by_id, found.status_set_at = scope.staff_member_id, clock.now()
    audit.record(
        session,
        clock,
        scope.staff_member_id,
        "inbox.status_set",
        "inbox_thread",
        found.id,
        status=status.value,
    )
    session.flush()
    return True
