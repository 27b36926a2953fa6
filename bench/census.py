"""The chaos run's census: each resident's record of a circular judged against what LINE (the
simulator) delivered, from the evidence of both sides and when each side knew it.

A record that differs from the inbox is one of:

- `blocked after LINE accepted`: the simulator's `blockBeforeDelivery` fault. LINE answered the
  request as accepted and then delivered nothing to them; Kairan's "sent" is LINE's acceptance,
  and nothing LINE tells the bot says otherwise.
- `unfollow heard after the record`: they blocked before LINE accepted, but their unfollow
  reached Kairan only after it had recorded the batch (a webhook LINE redelivered, a slow web
  app). Kairan could not know in time.
- `dated at a dead worker's claim`: the request LINE accepted, or an earlier one under the same
  key, went unheard because its worker was killed; the engine dates the acceptance at that claim,
  the one moment known of it (docs/delivery.md), and errs towards "sent".
- `disagree`: anything else. Kairan knew enough to record what LINE did, and did not.

Pure functions of plain values, so that `tests/unit/test_chaos_census.py` can judge made-up
timelines; `bench/chaos.py` gathers the values.
"""

from __future__ import annotations

from dataclasses import dataclass

AGREE = "agree"
AFTER_ACCEPTANCE = "blocked after LINE accepted"
HEARD_LATE = "unfollow heard after the record"
DEAD_CLAIM = "dated at a dead worker's claim"
DISAGREE = "disagree"

# The way back of an answer, and the worker's reading it, on a loaded host: a request's end as
# the simulator logs it and as the worker dates it differ by about this much at most. A date
# further than this from every request's end is a claim's (a heuristic of this bench).
ANSWER_WAY_BACK_MS = 1000


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
    # When the batch was recorded accepted (`DeliveryBatch.completed_at`).
    batch_recorded: int | None
    # The batch's `maybe_accepted_since` and `server_errors` (request id → when it ended).
    maybe_accepted_since: int | None
    server_errors: dict[str, int]
    # Every multicast under the batch's retry key, in the order LINE began them.
    requests: tuple[Request, ...]


def judge(evidence: Evidence) -> str:
    """Which of the module's verdicts one record earns."""
    if evidence.recorded_sent == evidence.received:
        return AGREE
    if evidence.recorded_sent and evidence.blocked_by_line:
        return AFTER_ACCEPTANCE
    if evidence.recorded_sent:
        known_late = evidence.unfollow_recorded is None or (
            evidence.batch_recorded is not None
            and evidence.unfollow_recorded >= evidence.batch_recorded
        )
        if known_late:
            return HEARD_LATE
        dated = dated_acceptance(evidence)
        if dated is not None and evidence.unfollow_recorded >= dated and _a_claim(evidence, dated):
            return DEAD_CLAIM
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


def _a_claim(evidence: Evidence, dated: int) -> bool:
    """The engine's date is a claim's, not any request's end: a worker died while LINE held one
    of the key's requests."""
    ends = {r.answered for r in evidence.requests} | set(evidence.server_errors.values())
    return all(abs(dated - end) > ANSWER_WAY_BACK_MS for end in ends)
