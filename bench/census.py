"""The chaos run's census: each resident's record of a circular judged against what LINE (the
simulator) delivered, from the evidence of both sides and when each side knew it.

A record that differs from the inbox is one of:

- `blocked after LINE accepted`: the simulator's `blockBeforeDelivery` fault. LINE answered the
  request as accepted and then delivered nothing to them; Kairan's "sent" is LINE's acceptance,
  and nothing LINE tells the bot says otherwise.
- `unfollow heard after LINE accepted`: they blocked before LINE accepted the request, but their
  unfollow reached Kairan only after LINE had accepted it (or never). Kairan dates an acceptance
  no later than LINE made it, so it could not count them out.
- `dated at an earlier unheard request`: Kairan heard of the unfollow before LINE accepted, but
  the engine dated the acceptance before the accepting request began: an earlier request under
  the same key went unanswered (or its worker died) and LINE may have accepted that one; the
  engine takes the earliest such moment (docs/delivery.md) and errs towards "sent".
- `disagree`: anything else. Kairan knew enough to record what LINE did, and did not.

Pure functions of plain values, so that `tests/unit/test_chaos_census.py` can judge made-up
timelines; `bench/chaos.py` gathers the values.
"""

from __future__ import annotations

from dataclasses import dataclass

AGREE = "agree"
AFTER_ACCEPTANCE = "blocked after LINE accepted"
HEARD_LATE = "unfollow heard after LINE accepted"
UNHEARD_EARLIER = "dated at an earlier unheard request"
DISAGREE = "disagree"


@dataclass(frozen=True)
class Request:
    """One multicast the simulator logged under the batch's retry key (times in epoch ms)."""

    request_id: str
    status: int
    started: int
    # When the simulator accepted and delivered it; None for a request it did not accept.
    accepted: int | None
    answered: int


@dataclass(frozen=True)
class Evidence:
    """What both sides knew of one resident and one circular (times in epoch ms)."""

    recorded_sent: bool
    received: bool
    # The resident blocked the bot through the `blockBeforeDelivery` fault.
    blocked_by_line: bool
    # Kairan's unfollow (`Resident.blocked_at`), None if it never heard of one.
    unfollow_recorded: int | None
    # The batch's `maybe_accepted_since` and `server_errors` (request id → when it ended).
    maybe_accepted_since: int | None
    server_errors: dict[str, int]
    # Every multicast under the batch's retry key, in the order LINE began them.
    requests: tuple[Request, ...]


def judge(evidence: Evidence) -> str:
    """Which of the module's verdicts one record earns."""
    if evidence.recorded_sent == evidence.received:
        return AGREE
    if not evidence.recorded_sent:
        return DISAGREE  # skipped, though LINE delivered: the engine dated too late
    if evidence.blocked_by_line:
        return AFTER_ACCEPTANCE
    accepting = next((r for r in evidence.requests if r.accepted is not None), None)
    dated = dated_acceptance(evidence)
    heard = evidence.unfollow_recorded
    if accepting is None or accepting.accepted is None or dated is None:
        return DISAGREE  # recorded sent, yet LINE accepted nothing under the key
    if heard is not None and heard < dated:
        return DISAGREE  # the engine knew of the unfollow before its own date
    if heard is None or heard >= accepting.accepted:
        return HEARD_LATE
    if dated < accepting.started:
        return UNHEARD_EARLIER
    return DISAGREE


def dated_acceptance(evidence: Evidence) -> int | None:
    """The moment the engine gave LINE's acceptance, as the record's evidence shows it."""
    accepting = next((r for r in evidence.requests if r.accepted is not None), None)
    if accepting is None:
        return None
    later = evidence.requests[evidence.requests.index(accepting) + 1 :]
    if accepting.status == 200 and not later:
        return accepting.answered  # heard: a 200 closes the batch
    if accepting.request_id in evidence.server_errors:
        return evidence.server_errors[accepting.request_id]
    return evidence.maybe_accepted_since
