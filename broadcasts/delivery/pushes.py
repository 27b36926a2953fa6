"""Single pushes with a stored retry key — a district's welcome, an officer's digest — share the
engine's rules: the attempt is counted and committed before the call, the outcome recorded after
it in a new transaction, and a retry reuses the key, so a crash in between never sends twice.
These two steps are that bookkeeping; the callers own the transactions and the call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from broadcasts.delivery.line import SendOutcome
from broadcasts.delivery.retry import Decision, Verdict, decide, key_still_safe
from models import BatchStatus, DistrictWelcome, OfficerDigest

KeyedPush = DistrictWelcome | OfficerDigest


def begin_attempt(push: KeyedPush, now: datetime) -> bool:
    """Count the attempt about to be made; False, with the push held for a person, when LINE
    may have forgotten its key (a resend could then arrive twice)."""
    if not key_still_safe(push.first_attempt_at, now):
        push.status = BatchStatus.held
        return False
    push.attempts += 1
    push.first_attempt_at = push.first_attempt_at or now
    return True


def record_outcome(
    push: KeyedPush,
    outcome: SendOutcome,
    now: datetime,
    random: Callable[[], float],
    paused_for: timedelta,
) -> Decision:
    """What LINE said, applied to the push: sent, failed, held, or pending again — after its
    back-off, or after `paused_for` when LINE refused to send for now (quota)."""
    assert push.first_attempt_at is not None  # noqa: S101 - set by begin_attempt
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
