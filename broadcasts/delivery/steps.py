"""The delivery engine's steps. Each runs in its own transaction, committed by the caller:

    claim  → commit → send to LINE (no transaction open) → record → commit

A worker that dies anywhere leaves either a pending batch, or an in-flight one whose heartbeat
goes stale and which `recover_stale` puts back; resending it is safe because its retry key is the
one LINE already knows.
"""

from __future__ import annotations

import random as random_module
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, bindparam, case, exists, or_, select, true, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.delivery.line import Result, SendOutcome, Serialised
from broadcasts.delivery.messages import MessageCache, unit_name
from broadcasts.delivery.monthly_quota import QUOTA_PAUSE
from broadcasts.delivery.retry import Decision, Verdict, decide, key_still_safe, refused
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    FollowStatus,
    Resident,
)

# A claim whose heartbeat is older than this belongs to a dead worker. A live worker refreshes
# its senders' claims every second while they wait on LINE (`heartbeat`); were it still sending
# after all, a resend is safe (same retry key).
STALE_AFTER = timedelta(seconds=10)
# A batch a worker failed on through a fault of its own (not LINE's) waits this long before it
# is claimed again, so that one that always fails does not keep a sender busy.
GIVEN_BACK_WAIT = timedelta(seconds=30)

# The failure reason of a delivery skipped because its resident had unfollowed the bot.
BLOCKED = "blocked"


@dataclass(frozen=True)
class Claim:
    """A batch this worker holds, with everything the LINE call needs."""

    batch_id: int
    circular_id: int
    worker_id: str
    retry_key: uuid.UUID
    # The batch's, as this claim left them.
    attempts: int
    line_failures: int
    maybe_accepted_since: datetime
    # No earlier request under the key may have been accepted: this claim set the above.
    first_unanswered: bool
    # The requests LINE answered with a 5xx, by id, and when each ended (ISO 8601): LINE may
    # have accepted one of them.
    server_errors: dict[str, str]
    first_attempt_at: datetime
    user_ids: list[str]
    messages: list[Serialised]
    unit: str


def claim_next(
    session: Session, clock: Clock, worker_id: str, messages: MessageCache | None = None
) -> Claim | None:
    """Take the next due batch, or None when there is nothing to send now. `messages` keeps the
    messages built for earlier batches (by default nothing is kept)."""
    if messages is None:
        messages = MessageCache()
    now = clock.now()
    while True:
        batch = session.scalars(_due_batches(session), {"now": now}).first()
        if batch is None:
            return None
        if not key_still_safe(batch.first_attempt_at, now):
            # The worker was away too long: LINE may have forgotten the key. A person decides.
            batch.status = BatchStatus.held
            batch.last_error = "retry key older than LINE keeps it; not resent"
            session.flush()
            continue
        user_ids = _recipients(session, batch)
        if not user_ids:
            # Nobody left to reach: closed without a call (`finish_all_done` then sees it).
            batch.status = BatchStatus.accepted
            batch.completed_at = now
            session.flush()
            continue
        batch.status = BatchStatus.in_flight
        batch.worker_id = worker_id
        batch.heartbeat_at = now
        batch.attempts += 1
        batch.first_attempt_at = batch.first_attempt_at or now
        first_unanswered = batch.maybe_accepted_since is None
        batch.maybe_accepted_since = batch.maybe_accepted_since or now
        message = messages.message(session, batch)
        session.flush()
        return Claim(
            batch_id=batch.id,
            circular_id=batch.circular_id,
            worker_id=worker_id,
            retry_key=batch.retry_key,
            attempts=batch.attempts,
            line_failures=batch.line_failures,
            maybe_accepted_since=batch.maybe_accepted_since,
            first_unanswered=first_unanswered,
            server_errors=dict(batch.server_errors or {}),
            first_attempt_at=batch.first_attempt_at,
            user_ids=user_ids,
            messages=[message],
            unit=unit_name(batch.circular_id),
        )


def _due_batches_statement(row_locks: bool) -> Select[DeliveryBatch]:
    query = (
        select(DeliveryBatch)
        .join(Circular, Circular.id == DeliveryBatch.circular_id)
        .where(
            DeliveryBatch.status == BatchStatus.pending,
            or_(
                DeliveryBatch.next_attempt_at.is_(None),
                DeliveryBatch.next_attempt_at <= bindparam("now"),
            ),
            # A sent circular still has reminders to send.
            Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
            Circular.hold_reason.is_(None),
        )
        .order_by(DeliveryBatch.id)
        .limit(1)
    )
    if row_locks:
        # Several workers: each takes a different row. (SQLite runs one worker, see worker.py.)
        query = query.with_for_update(skip_locked=True, of=DeliveryBatch)
    return query


# The statements of every batch are built once, with bound parameters: SQLAlchemy then reuses
# their cache keys and compiled forms instead of building and hashing them for each batch.
DUE_BATCHES = {True: _due_batches_statement(True), False: _due_batches_statement(False)}


def _due_batches(session: Session) -> Select[DeliveryBatch]:
    return DUE_BATCHES[session.get_bind().dialect.name == "postgresql"]


RECIPIENTS = (
    select(
        Resident.line_user_id,
        # The delivery's id when its resident blocked the bot, else NULL.
        case((Resident.follow_status == FollowStatus.blocked, Delivery.id)),
    )
    .join(Resident, Resident.id == Delivery.resident_id)
    .where(Delivery.batch_id == bindparam("batch"), Delivery.status == DeliveryStatus.pending)
    .order_by(Delivery.id)
)


def _recipients(session: Session, batch: DeliveryBatch) -> list[str]:
    """The LINE ids the batch still has to reach. On its first attempt, residents who blocked
    the bot after the snapshot are skipped, not sent; a retry resends what the first attempt
    sent, under the same key."""
    rows = session.execute(RECIPIENTS, {"batch": batch.id}).all()
    if batch.attempts > 0:
        return [user_id for user_id, _ in rows]
    user_ids: list[str] = []
    blocked: list[int] = []
    for user_id, blocked_delivery in rows:
        if blocked_delivery is None:
            user_ids.append(user_id)
        else:
            blocked.append(blocked_delivery)
    if blocked:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(blocked))
            .values(status=DeliveryStatus.skipped, failure_reason=BLOCKED)
        )
    return user_ids


def record(
    session: Session,
    clock: Clock,
    claim: Claim,
    outcome: SendOutcome,
    random: Callable[[], float] = random_module.random,
    answered_at: datetime | None = None,
) -> Decision | None:
    """Apply LINE's answer to the batch and its deliveries; None when the claim was lost.
    `answered_at`: when the answer came (by default now), before any wait for the database.

    A request LINE may have accepted is dated at its end, as this worker saw it: LINE takes a
    request once it has read it, so a resident whose unfollow was recorded before the answer
    (or before the connection failed) had blocked the bot first and got nothing. Only a request
    whose worker died is dated at its claim, the one moment known of it.
    """
    now = clock.now()
    ended_at = answered_at or now
    # While the batch is in flight under this claim nobody else changes it, so the claim's
    # attempts are the batch's: the batch is updated only if it is still this claim's.
    decision = decide(outcome, claim.line_failures, claim.first_attempt_at, now, random)
    changes: dict[str, object] = {
        "worker_id": None,
        "heartbeat_at": None,
        "last_error": outcome.detail,
    }
    if outcome.request_id:
        changes["line_request_id"] = outcome.request_id
    if decision.verdict in (Verdict.retry, Verdict.held):
        changes["line_failures"] = claim.line_failures + 1
    if outcome.result is Result.server_error and outcome.request_id:
        changes["server_errors"] = {
            **claim.server_errors,
            outcome.request_id: ended_at.isoformat(),
        }
    if claim.first_unanswered:
        if refused(outcome.result):
            # LINE took nothing from this request, and no earlier one went unanswered.
            changes["maybe_accepted_since"] = None
        elif outcome.result is Result.unreachable:
            changes["maybe_accepted_since"] = ended_at
    match decision.verdict:
        case Verdict.accepted:
            changes.update(status=BatchStatus.accepted, completed_at=now)
        case Verdict.failed:
            changes.update(status=BatchStatus.failed, completed_at=now)
        case Verdict.retry:
            changes.update(status=BatchStatus.pending, next_attempt_at=decision.retry_at)
        case Verdict.held:
            changes.update(status=BatchStatus.held)
        case Verdict.paused:
            changes.update(status=BatchStatus.pending)
    still_ours = session.execute(
        update(DeliveryBatch)
        .where(
            DeliveryBatch.id == claim.batch_id,
            DeliveryBatch.status == BatchStatus.in_flight,
            DeliveryBatch.worker_id == claim.worker_id,
        )
        .values(changes)
        .execution_options(synchronize_session=False)
    )
    if still_ours.rowcount == 0:  # type: ignore[attr-defined]
        # Recovered while this worker waited on LINE, and maybe claimed by another: whoever
        # holds it now records. Sending twice was safe (same key); recording twice would not be.
        return None
    match decision.verdict:
        case Verdict.accepted:
            # LINE delivers nothing to a resident who blocked the bot before it accepted the
            # request: their unfollow, recorded before, makes them skipped, not sent.
            server_error_began = claim.server_errors.get(outcome.request_id or "")
            if outcome.result is Result.accepted:
                accepted_at = ended_at
            elif server_error_began is not None:
                # The 409 names a request LINE answered with a 5xx: it was accepted after all.
                accepted_at = datetime.fromisoformat(server_error_began)
            else:
                accepted_at = claim.maybe_accepted_since
            session.execute(SKIP_UNFOLLOWED, {"batch": claim.batch_id, "accepted_at": accepted_at})
            session.execute(MARK_SENT, {"batch": claim.batch_id, "now": now})
        case Verdict.failed:
            session.execute(MARK_FAILED, {"batch": claim.batch_id, "reason": outcome.detail})
        case Verdict.paused:
            circular = session.get_one(Circular, claim.circular_id)
            circular.hold_reason = _pause_reason(outcome)
        case _:
            pass
    session.flush()
    return decision


_PENDING_IN_BATCH = (Delivery.batch_id == bindparam("batch")) & (
    Delivery.status == DeliveryStatus.pending
)
# LINE delivers nothing to a resident who blocked the bot before it accepted the request.
SKIP_UNFOLLOWED = (
    update(Delivery)
    .where(
        _PENDING_IN_BATCH,
        # The resident is blocked, by an unfollow recorded before LINE accepted.
        exists().where(
            Resident.id == Delivery.resident_id,
            Resident.follow_status == FollowStatus.blocked,
            Resident.blocked_at < bindparam("accepted_at"),
        ),
    )
    .values(status=DeliveryStatus.skipped, failure_reason=BLOCKED)
    .execution_options(synchronize_session=False)
)
MARK_SENT = (
    update(Delivery)
    .where(_PENDING_IN_BATCH)
    .values(status=DeliveryStatus.sent, sent_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
MARK_FAILED = (
    update(Delivery)
    .where(_PENDING_IN_BATCH)
    .values(status=DeliveryStatus.failed, failure_reason=bindparam("reason"))
    .execution_options(synchronize_session=False)
)


def _pause_reason(outcome: SendOutcome) -> str:
    if outcome.detail and "monthly limit" in outcome.detail:
        return QUOTA_PAUSE
    detail = outcome.detail or outcome.result.value
    return StaffText(
        "LINE が送信を受け付けませんでした（%(detail)s）。設定を確認してください", detail=detail
    )


def finish_if_done(session: Session, clock: Clock, circular_id: int) -> bool:
    """Mark the circular sent if every batch of its card is accepted or failed; True if this
    call did.

    Called in a transaction of its own, after the one that closed a batch has committed. Of two
    senders closing a circular's last two batches at once, each checks after its own commit, so
    the later check sees both batches closed, and no sender waits on another's lock. A worker
    that stops between the two commits leaves the circular to `finish_all_done`.
    """
    return _finish(session, clock, Circular.id == circular_id) == 1


def finish_all_done(session: Session, clock: Clock) -> int:
    """`finish_if_done` for every circular still sending (the worker's loop runs it); returns
    how many it marked sent."""
    return _finish(session, clock, true())


def _finish(session: Session, clock: Clock, which: ColumnElement[bool]) -> int:
    open_card_batches = select(DeliveryBatch.id).where(
        DeliveryBatch.circular_id == Circular.id,
        DeliveryBatch.slot == CARD,
        DeliveryBatch.status.in_([BatchStatus.pending, BatchStatus.in_flight, BatchStatus.held]),
    )
    # One statement: it sees every batch committed before it began, and changes nothing (writes
    # nothing) while a batch is still open.
    result = session.execute(
        update(Circular)
        .where(which, Circular.status == CircularStatus.sending, ~open_card_batches.exists())
        .values(status=CircularStatus.sent, completed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def recover_stale(session: Session, clock: Clock, stale_after: timedelta = STALE_AFTER) -> int:
    """Put batches of dead workers back to pending; returns how many."""
    result = session.execute(
        update(DeliveryBatch)
        .where(
            DeliveryBatch.status == BatchStatus.in_flight,
            DeliveryBatch.heartbeat_at <= clock.now() - stale_after,
        )
        .values(status=BatchStatus.pending, worker_id=None, heartbeat_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def give_back(session: Session, clock: Clock, batch_id: int, worker_id: str, reason: str) -> bool:
    """Put back a batch `worker_id` claimed and failed on through a fault of its own, to be tried
    again after `GIVEN_BACK_WAIT`; False when the claim was no longer its."""
    result = session.execute(
        update(DeliveryBatch)
        .where(
            DeliveryBatch.id == batch_id,
            DeliveryBatch.status == BatchStatus.in_flight,
            DeliveryBatch.worker_id == worker_id,
        )
        .values(
            status=BatchStatus.pending,
            worker_id=None,
            heartbeat_at=None,
            next_attempt_at=clock.now() + GIVEN_BACK_WAIT,
            last_error=reason,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]
