"""What the engine does after each send: the rules as one pure function, tested with tables."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcasts.delivery.line import Result, SendOutcome

# LINE remembers a retry key for 24 hours. Past that a resend could deliver twice, so the engine
# stops retrying an hour earlier and hands the batch to a person.
KEY_LIFETIME = timedelta(hours=24)
KEY_MARGIN = timedelta(hours=1)
BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=5)


class Verdict(enum.Enum):
    accepted = "accepted"  # its deliveries are sent
    retry = "retry"  # back to pending until retry_at, same key
    failed = "failed"  # LINE refused the request; nobody in it got anything
    held = "held"  # the key is too old to retry safely
    paused = "paused"  # the circular waits for a person (quota used up, token refused)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    retry_at: datetime | None = None


def key_still_safe(first_attempt_at: datetime | None, now: datetime) -> bool:
    """Whether a request with this batch's key may (still) be sent."""
    return first_attempt_at is None or now - first_attempt_at < KEY_LIFETIME - KEY_MARGIN


def backoff(failures: int, random: Callable[[], float]) -> timedelta:
    """Exponential in LINE's failed answers, capped, with half of it random so that workers do
    not retry in step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (1 << min(max(0, failures - 1), 16)))
    return ceiling / 2 + ceiling / 2 * random()


def refused(result: Result) -> bool:
    """Whether LINE answered that it did not take the request, an error it answered with (5xx
    included) taken at its word. Only no answer at all (a timeout, a dropped connection, a
    worker killed while it waited) may hide a request LINE accepted: a resend then gets 409.
    (A 5xx may come after LINE accepted all the same: `delivery.record` keeps each 5xx's request
    id, and a 409 naming one is dated at that request.)"""
    return result in (
        Result.rejected,
        Result.rate_limited,
        Result.quota_exhausted,
        Result.unauthorized,
        Result.server_error,
    )


def decide(
    outcome: SendOutcome,
    failures: int,
    first_attempt_at: datetime,
    now: datetime,
    random: Callable[[], float],
) -> Decision:
    """`failures`: LINE's earlier answers to this batch that asked for a retry. Claims that died
    with their worker are not answers: a crash of ours says nothing about LINE's load."""
    match outcome.result:
        case Result.accepted | Result.already_accepted:
            return Decision(Verdict.accepted)
        case Result.rejected:
            return Decision(Verdict.failed)
        case Result.quota_exhausted | Result.unauthorized:
            return Decision(Verdict.paused)
        case Result.rate_limited | Result.server_error | Result.unreachable:
            retry_at = now + backoff(failures + 1, random)
            if not key_still_safe(first_attempt_at, retry_at):
                return Decision(Verdict.held)
            return Decision(Verdict.retry, retry_at=retry_at)
