"""Single pushes with a stored retry key — a district's welcome, an officer's digest, a quota
hold's notice, a circular's post in a LINE group, the inbox's notices and answers — sent by one
loop under the engine's rules: the attempt is counted and committed before the call, the outcome
recorded after it in a new
transaction, and a retry reuses the key, so a crash in between never sends twice.

Like the worker, the loop owns its transactions (it takes a session factory): the rule needs a
commit between counting an attempt and calling LINE, and another after the call, so no single
commit at the edge could keep it. What to push is the services' part — `next_due` finds the row,
`prepare` words the message — and they only read and flush.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from broadcasts.delivery import line as line_api
from broadcasts.delivery.line import Line, Result, SendOutcome
from broadcasts.delivery.retry import Decision, Verdict, decide, key_still_safe
from models import BatchStatus, DistrictWelcome, GroupPost, HoldNotice, InboxPush, OfficerDigest

# line-bot-sdk is imported where LINE is called or a message is built: its models are most of a
# process's start-up (bench/startup.py), and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import Message

log = logging.getLogger(__name__)

KeyedPush = DistrictWelcome | OfficerDigest | HoldNotice | GroupPost | InboxPush
Row = TypeVar("Row", DistrictWelcome, OfficerDigest, HoldNotice, GroupPost, InboxPush)


@dataclass(frozen=True)
class Push:
    """What one row sends: `messages` to `user_id` (a group's id for a group post); or nothing,
    when `skip` says why (the row is then closed as done without a call)."""

    user_id: str = ""
    messages: Sequence[Message] = ()
    skip: str | None = None


def send_due(
    sessions: sessionmaker[Session],
    line: Line,
    now: datetime,
    next_due: Callable[[Session, datetime], Row | None],
    prepare: Callable[[Session, Row], Push],
    random: Callable[[], float],
    paused_for: timedelta,
    limit: int | None = None,
) -> int:
    """Push what is due, one row at a time (at most `limit` rows), each with its row's retry
    key; returns how many LINE accepted. A pause (LINE refuses to send for now: the monthly
    limit) waits `paused_for` and ends the round, since every later push would meet it too."""
    sent = 0
    taken = 0
    while limit is None or taken < limit:
        with sessions() as session:
            row = next_due(session, now)
            if row is None:
                break
            taken += 1
            if not _begin_attempt(row, now):
                session.commit()
                continue
            push = prepare(session, row)
            kind, row_id, key = type(row), row.id, row.retry_key
            # Committed before the call: a crash after it must find the attempt and its key.
            session.commit()
        if push.skip is not None:
            outcome = SendOutcome(Result.accepted, detail=push.skip)
        else:
            outcome = line_api.push(line, push.user_id, list(push.messages), key)
        with sessions() as session:
            decision = _record_outcome(
                session.get_one(kind, row_id), outcome, now, random, paused_for
            )
            session.commit()
        if decision.verdict is Verdict.paused:
            log.warning("%s %d paused (%s)", kind.__tablename__, row_id, outcome.result.value)
            break
        sent += decision.verdict is Verdict.accepted and push.skip is None
    return sent


def _begin_attempt(push: KeyedPush, now: datetime) -> bool:
    """Count the attempt about to be made; False, with the push held for a person, when LINE
    may have forgotten its key (a resend could then arrive twice)."""
    if not key_still_safe(push.first_attempt_at, now):
        push.status = BatchStatus.held
        return False
    push.attempts += 1
    push.first_attempt_at = push.first_attempt_at or now
    return True


def _record_outcome(
    push: KeyedPush,
    outcome: SendOutcome,
    now: datetime,
    random: Callable[[], float],
    paused_for: timedelta,
) -> Decision:
    """What LINE said, applied to the push: sent, failed, held, or pending again — after its
    back-off, or after `paused_for` when LINE refused to send for now (quota)."""
    assert push.first_attempt_at is not None  # noqa: S101 - set by _begin_attempt
    decision = decide(outcome, push.attempts, push.first_attempt_at, now, random)
    push.last_error = outcome.detail
    push.line_request_id = outcome.request_id
    push.status = {
        Verdict.accepted: BatchStatus.accepted,
        Verdict.failed: BatchStatus.failed,
        Verdict.held: BatchStatus.held,
    }.get(decision.verdict, BatchStatus.pending)
    push.next_attempt_at = decision.retry_at or (
        now + paused_for if decision.verdict is Verdict.paused else None
    )
    return decision
