"""What the engine does after each send: the rules as one pure function, tested with tables."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcasts.line import Result, SendOutcome

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


def backoff(attempts: int, random: Callable[[], float]) -> timedelta:
    """Exponential, capped, with half of it random so that workers do not retry in step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (1 << min(max(0, attempts - 1), 16)))
    return ceiling / 2 + ceiling / 2 * random()


def decide(
    outcome: SendOutcome,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    random: Callable[[], float],
) -> Decision:
    match outcome.result:
        case Result.accepted | Result.already_accepted:
            return Decision(Verdict.accepted)
        case Result.rejected:
            return Decision(Verdict.failed)
        case Result.quota_exhausted | Result.unauthorized:
            return Decision(Verdict.paused)
        case Result.rate_limited | Result.server_error | Result.unreachable:
            retry_at = now + backoff(attempts, random)
            if not key_still_safe(first_attempt_at, retry_at):
                return Decision(Verdict.held)
            return Decision(Verdict.retry, retry_at=retry_at)
