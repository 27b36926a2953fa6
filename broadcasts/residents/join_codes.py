"""Join codes (参加コード): the short code on an association's or a group's flyer.

A resident who sends the code to the bot is asked to confirm that association (and group) and is
registered with the existing confirmation step (broadcasts.residents.registration, 「はい」).
Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), at least one of
them a digit so that no word a resident types ("THURSDAY", "FEEDBACK") looks like a code:
31⁸ − 23⁸ ≈ 7.7 × 10¹¹ codes, and a LINE user gets `MAX_FAILURES` wrong tries a day, so
guessing one is hopeless.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.text import typed_code as _folded
from broadcasts.residents.registration import (
    AskConfirmation,
    Registration,
    ensure_resident,
    find_resident,
)
from broadcasts.staff import audit
from models import (
    Association,
    Conversation,
    ConversationStep,
    Group,
    JoinCode,
    JoinCodeFailure,
)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(days=1)
_CODE = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")
_DIGIT = re.compile(r"[2-9]")


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if _DIGIT.search(code):
            return code


def user_hash(line_user_id: str) -> str:
    """What the failure count keeps of a LINE user: the id's SHA-256, which names nobody."""
    return hashlib.sha256(line_user_id.encode("utf-8")).hexdigest()


def printed(code: str) -> str:
    """As on the flyer: two groups of four, easier to read out and type."""
    return f"{code[:4]}-{code[4:]}"


def typed_code(text: str) -> str | None:
    """The code if `text` looks like one (right or wrong), else None."""
    folded = _folded(text)
    return folded if folded and _CODE.fullmatch(folded) and _DIGIT.search(folded) else None


def current(session: Session, association: Association, group: Group | None) -> JoinCode | None:
    """The code in force for the association (group None) or for one of its groups."""
    return session.scalars(
        select(JoinCode).where(
            JoinCode.association_id == association.id,
            JoinCode.group_id.is_(None) if group is None else JoinCode.group_id == group.id,
            JoinCode.revoked_at.is_(None),
        )
    ).first()


def rotate(
    session: Session,
    clock: Clock,
    actor_id: int | None,
    association: Association,
    group: Group | None = None,
) -> JoinCode:
    """Issue a code for the association or group, revoking the one in force (if any)."""
    if group is not None and group.association_id != association.id:
        raise ValueError("the group belongs to another association")
    # Two people rotating at once take turns on the association's row, so the second revokes
    # the first's new code rather than leaving two in force (a unique index forbids that).
    session.execute(
        select(Association.id).where(Association.id == association.id).with_for_update()
    )
    now = clock.now()
    old = current(session, association, group)
    if old is not None:
        old.revoked_at = now
    code = JoinCode(
        code=new_code(),
        association_id=association.id,
        group_id=group.id if group else None,
        created_at=now,
    )
    session.add(code)
    session.flush()
    audit.record(
        session,
        clock,
        actor_id,
        "join_code.rotated",
        "association",
        association.id,
        group=group.id if group else None,
    )
    return code


@dataclass(frozen=True)
class UnknownCode:
    """No code in force matches; `locked` once the resident used up today's tries."""

    locked: bool = False


def redeem(
    session: Session, clock: Clock, line_user_id: str, code: str
) -> AskConfirmation | UnknownCode:
    """A typed join code: ask to confirm its association (and group), or say it is unknown.

    The confirmation is the registration's own step, so 「はい」 registers exactly as choosing
    the areas one by one would. Wrong codes are counted per LINE user, known to Kairan or not
    (a hash of the id: nothing else is kept about a stranger), so leaving with 「登録解除」 and
    guessing on does not start the count again. Flushes."""
    now = clock.now()
    sender = user_hash(line_user_id)
    failures = session.scalar(
        select(func.count())
        .select_from(JoinCodeFailure)
        .where(
            JoinCodeFailure.line_user_hash == sender,
            JoinCodeFailure.attempted_at > now - FAILURE_WINDOW,
        )
    )
    if int(failures or 0) >= MAX_FAILURES:
        return UnknownCode(locked=True)
    found = session.scalars(
        select(JoinCode).where(JoinCode.code == code, JoinCode.revoked_at.is_(None))
    ).first()
    if found is None:
        session.add(JoinCodeFailure(line_user_hash=sender, attempted_at=now))
        session.flush()
        return UnknownCode(locked=int(failures or 0) + 1 >= MAX_FAILURES)
    resident = find_resident(session, line_user_id)
    resident = resident or ensure_resident(session, clock, line_user_id)
    conversation = session.get(Conversation, resident.id)
    if conversation is None:
        conversation = Conversation(resident_id=resident.id, step=ConversationStep.confirm)
        session.add(conversation)
    association = found.association
    conversation.step = ConversationStep.confirm
    conversation.district_id = association.district_id
    conversation.association_id = association.id
    conversation.group_id = found.group_id
    session.flush()
    group = found.group
    return AskConfirmation(
        Registration(association.district.name, association.name, group.name if group else None)
    )
