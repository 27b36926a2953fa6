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

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from broadcasts.composing.attachments import sniff
from broadcasts.composing.drafts import CompositionError
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
PhotoTaken = Literal["added", "none", "refused"]
# Photos are kept in this folder of the uploads (KAIRAN_UPLOAD_DIR), away from attachments.
PHOTO_FOLDER = "inbox"
# A photo is written before its transaction commits (within a second); one no message names
# for this long is nobody's, and an erased resident's goes this soon.
PHOTO_SWEEP_AFTER = timedelta(hours=1)


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
    its officers when the thread needs them anew; or say why not."""
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


# --- a photo ------------------------------------------------------------------------------------


def awaits_photo(session: Session, resident_id: int, now: datetime) -> InboxMessage | None:
    """The resident's message a photo sent now would join: their last one, written within
    `PROMPT_WAIT` and without a photo yet."""
    last = session.scalars(
        select(InboxMessage)
        .where(InboxMessage.resident_id == resident_id)
        .order_by(InboxMessage.id.desc())
        .limit(1)
    ).first()
    if last is None or last.photo_name is not None or last.created_at <= now - PROMPT_WAIT:
        return None
    return last


def add_photo(
    session: Session, clock: Clock, message: InboxMessage, photo: bytes | None, storage_dir: Path
) -> PhotoTaken:
    """Keep `photo` with the message, re-encoded as attachments are (no EXIF, so not the place
    it was taken). "none": LINE did not give it; "refused": not a JPEG or PNG photo."""
    if photo is None:
        return "none"
    try:
        sniffed = sniff(photo)
    except CompositionError:
        return "refused"
    if sniffed.content_type not in ("image/jpeg", "image/png"):
        return "refused"
    name = secrets.token_urlsafe(32) + sniffed.extension
    folder = storage_dir / PHOTO_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (name + ".part")
    partial.write_bytes(sniffed.data)
    partial.replace(folder / name)
    message.photo_name = name
    session.flush()
    return "added"


def photo_path(storage_dir: Path, name: str) -> Path:
    return storage_dir / PHOTO_FOLDER / name


def unreferenced_photos(session: Session, now: datetime, storage_dir: Path) -> list[Path]:
    """Photos no message names any more (its resident was erased) or never did (the webhook's
    transaction rolled back), untouched for `PHOTO_SWEEP_AFTER`; the clock deletes them."""
    folder = storage_dir / PHOTO_FOLDER
    if not folder.is_dir():
        return []
    cutoff = (now - PHOTO_SWEEP_AFTER).timestamp()
    old = {p.name: p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime < cutoff}
    names = list(old)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        for known in session.scalars(
            select(InboxMessage.photo_name).where(InboxMessage.photo_name.in_(chunk))
        ):
            old.pop(known or "", None)
    return sorted(old.values())
