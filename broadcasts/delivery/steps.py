"""The delivery engine's steps. Each runs in its own transaction, committed by the caller:

    claim  → commit → send to LINE (no transaction open) → record → commit

A worker that dies anywhere leaves either a pending batch, or an in-flight one whose heartbeat
goes stale and which `recover_stale` puts back; resending it is safe because its retry key is the
one LINE already knows.
"""

from __future__ import annotations

import random as random_module
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, selectinload

from broadcasts.circulars import translations
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.delivery.line import Result, SendOutcome
from broadcasts.delivery.messages import circular_card, unit_name
from broadcasts.delivery.retry import Decision, Verdict, decide, key_still_safe, refused
from broadcasts.schedule.reminders import reminder_message
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    DeliveryWorker,
    FollowStatus,
    Resident,
)

# line-bot-sdk is imported where LINE is called or a message is built: loading its models
# costs every process about 1.5 s of CPU, and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import Message

# A claim whose heartbeat is older than this belongs to a dead worker. A live worker refreshes
# its senders' claims every second while they wait on LINE (`heartbeat`); were it still sending
# after all, a resend is safe (same retry key).
STALE_AFTER = timedelta(seconds=10)
# A batch a worker failed on through a fault of its own (not LINE's) waits this long before it
# is claimed again, so that one that always fails does not keep a sender busy.
GIVEN_BACK_WAIT = timedelta(seconds=30)
# A worker whose heartbeat is older than this is left out of `/healthz`; after a day, forgotten.
WORKER_GONE_AFTER = timedelta(seconds=10)
FORGET_WORKER_AFTER = timedelta(days=1)

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
    # This claim's request begins (about) now.
    claimed_at: datetime
    # The requests LINE answered with a 5xx, by id, and when each began (ISO 8601): LINE may
    # have accepted one of them.
    server_errors: dict[str, str]
    first_attempt_at: datetime
    user_ids: list[str]
    messages: list[Message]
    unit: str


class MessageCache:
    """The message of each (circular, slot, language) this worker has sent, built once.

    Every batch of a send carries the same message, and loading the circular (options,
    translations, targets, photos) and building it through the SDK's models cost more than the
    rest of a claim. Keeping it is safe because only batches of released circulars are claimed
    (`_due_batches`) and a released circular's content cannot change: compose refuses to edit
    one that is no longer a draft or scheduled (text, question, options, translations, photos),
    and a correction is a circular of its own. `public_url` (KAIRAN_PUBLIC_URL) lets the card
    show the circular's first photo. Bounded: a worker runs for months.
    """

    def __init__(self, public_url: str | None = None, size: int = 64) -> None:
        self.public_url = public_url
        self.size = size
        self._messages: OrderedDict[tuple[int, str, str], Message] = OrderedDict()
        # The worker's sender threads share one cache.
        self._lock = threading.Lock()
        # One lock per message being built: senders claiming the first batches of a circular at
        # once build its message once, and the others wait for it rather than each build it.
        self._building: dict[tuple[int, str, str], threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def message(self, session: Session, batch: DeliveryBatch) -> Message:
        key = (batch.circular_id, batch.slot, batch.language)
        with self._lock:
            message = self._cached(key)
            if message is not None:
                return message
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                message = self._cached(key)
            if message is not None:
                return message
            circular = _circular(session, batch.circular_id)
            message = message_for(
                circular,
                batch.slot,
                self.public_url,
                translations.version_in(circular, batch.language),
            )
            with self._lock:
                self._messages[key] = message
                while len(self._messages) > self.size:
                    self._messages.popitem(last=False)
                del self._building[key]
        return message

    def _cached(self, key: tuple[int, str, str]) -> Message | None:
        message = self._messages.get(key)
        if message is not None:
            self._messages.move_to_end(key)
        return message


def claim_next(
    session: Session, clock: Clock, worker_id: str, messages: MessageCache | None = None
) -> Claim | None:
    """Take the next due batch, or None when there is nothing to send now. `messages` keeps the
    messages built for earlier batches (by default nothing is kept)."""
    if messages is None:
        messages = MessageCache()
    now = clock.now()
    while True:
        batch = session.scalars(_due_batches(session, now)).first()
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
            claimed_at=now,
            server_errors=dict(batch.server_errors or {}),
            first_attempt_at=batch.first_attempt_at,
            user_ids=user_ids,
            messages=[message],
            unit=unit_name(batch.circular_id),
        )


def message_for(
    circular: Circular,
    slot: str,
    public_url: str | None = None,
    version: translations.Version | None = None,
) -> Message:
    """What a batch of `slot` carries: the card, or the reminder of that slot, with the text of
    the batch's version of the circular."""
    if slot == CARD:
        return circular_card(circular, public_url, version)
    return reminder_message(circular, slot, version)


def _due_batches(session: Session, now: datetime) -> Select[DeliveryBatch]:
    query = (
        select(DeliveryBatch)
        .join(Circular, Circular.id == DeliveryBatch.circular_id)
        .where(
            DeliveryBatch.status == BatchStatus.pending,
            or_(DeliveryBatch.next_attempt_at.is_(None), DeliveryBatch.next_attempt_at <= now),
            # A sent circular still has reminders to send.
            Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
            Circular.hold_reason.is_(None),
        )
        .order_by(DeliveryBatch.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several workers: each takes a different row. (SQLite runs one worker, see worker.py.)
        query = query.with_for_update(skip_locked=True, of=DeliveryBatch)
    return query


def _recipients(session: Session, batch: DeliveryBatch) -> list[str]:
    """The LINE ids the batch still has to reach. On its first attempt, residents who blocked
    the bot after the snapshot are skipped, not sent; a retry resends what the first attempt
    sent, under the same key."""
    rows = session.execute(
        select(
            Resident.line_user_id,
            # The delivery's id when its resident blocked the bot, else NULL.
            case((Resident.follow_status == FollowStatus.blocked, Delivery.id)),
        )
        .join(Resident, Resident.id == Delivery.resident_id)
        .where(Delivery.batch_id == batch.id, Delivery.status == DeliveryStatus.pending)
        .order_by(Delivery.id)
    ).all()
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


def _circular(session: Session, circular_id: int) -> Circular:
    return session.scalars(
        select(Circular)
        .where(Circular.id == circular_id)
        .options(
            selectinload(Circular.options),
            selectinload(Circular.attachments),
            selectinload(Circular.translations),
            selectinload(Circular.targets).selectinload(CircularTarget.district),
            selectinload(Circular.targets).selectinload(CircularTarget.association),
            selectinload(Circular.targets).selectinload(CircularTarget.group),
        )
    ).one()


def record(
    session: Session,
    clock: Clock,
    claim: Claim,
    outcome: SendOutcome,
    random: Callable[[], float] = random_module.random,
    answered_at: datetime | None = None,
) -> Decision | None:
    """Apply LINE's answer to the batch and its deliveries; None when the claim was lost.
    `answered_at`: when the answer came (by default now), before any wait for the database."""
    now = clock.now()
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
            outcome.request_id: claim.claimed_at.isoformat(),
        }
    if refused(outcome.result) and claim.first_unanswered:
        # LINE took nothing from this request, and no earlier one went unanswered.
        changes["maybe_accepted_since"] = None
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
    pending_in_batch = (Delivery.batch_id == claim.batch_id) & (
        Delivery.status == DeliveryStatus.pending
    )
    match decision.verdict:
        case Verdict.accepted:
            # LINE delivers nothing to a resident who blocked the bot before it accepted the
            # request: their unfollow, recorded before, makes them skipped, not sent.
            server_error_began = claim.server_errors.get(outcome.request_id or "")
            if outcome.result is Result.accepted:
                accepted_at = answered_at or now
            elif server_error_began is not None:
                # The 409 names a request LINE answered with a 5xx: it was accepted after all.
                accepted_at = datetime.fromisoformat(server_error_began)
            else:
                accepted_at = claim.maybe_accepted_since
            session.execute(
                update(Delivery)
                .where(pending_in_batch, _unfollowed_before(accepted_at))
                .values(status=DeliveryStatus.skipped, failure_reason=BLOCKED)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(Delivery)
                .where(pending_in_batch)
                .values(status=DeliveryStatus.sent, sent_at=now)
                .execution_options(synchronize_session=False)
            )
        case Verdict.failed:
            session.execute(
                update(Delivery)
                .where(pending_in_batch)
                .values(status=DeliveryStatus.failed, failure_reason=outcome.detail)
                .execution_options(synchronize_session=False)
            )
        case Verdict.paused:
            circular = session.get_one(Circular, claim.circular_id)
            circular.hold_reason = _pause_reason(outcome)
        case _:
            pass
    session.flush()
    return decision


# The pause the monthly limit causes; the clock lifts it by itself once the quota covers what
# the circular still has to send (`resume`). Other pauses (a refused token) wait for a person.
QUOTA_PAUSE = StaffText("今月のメッセージ上限に達したため、送信を一時停止しました（残りは未送信）")


def _unfollowed_before(moment: datetime) -> ColumnElement[bool]:
    """The delivery's resident is blocked, by an unfollow recorded before `moment`."""
    return exists().where(
        Resident.id == Delivery.resident_id,
        Resident.follow_status == FollowStatus.blocked,
        Resident.blocked_at < moment,
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


# Any constant of our own (pg_advisory_xact_lock takes a bigint): "kairan" in ASCII.
RELEASE_LOCK = 0x6B6169_72616E


def one_release_at_a_time(session: Session) -> None:
    """Hold the release lock until the caller's transaction ends: a release (or a resume) and its
    quota check then see every release committed before them, so two at once can neither
    both spend the same quota nor snapshot one circular twice. On PostgreSQL a transaction-level
    advisory lock; SQLite lets one writer at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(RELEASE_LOCK)))


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


def heartbeat(
    session: Session,
    clock: Clock,
    worker: str,
    senders: int,
    alive: int,
    claims: dict[str, int],
) -> None:
    """A worker is alive with `alive` of its `senders`, which hold `claims` (sender → batch id):
    those stay fresh however long LINE takes to answer."""
    now = clock.now()
    row = session.get(DeliveryWorker, worker)
    if row is None:
        row = DeliveryWorker(name=worker, started_at=now)
        session.add(row)
    row.heartbeat_at, row.senders, row.senders_alive = now, senders, alive
    if claims:
        session.execute(
            update(DeliveryBatch)
            .where(
                DeliveryBatch.id.in_(claims.values()),
                DeliveryBatch.status == BatchStatus.in_flight,
                DeliveryBatch.worker_id.in_(claims.keys()),
            )
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(DeliveryWorker).where(DeliveryWorker.heartbeat_at < now - FORGET_WORKER_AFTER)
    )
    session.flush()


def leave(session: Session, worker: str) -> None:
    """A worker that stops cleanly leaves `/healthz` at once."""
    session.execute(delete(DeliveryWorker).where(DeliveryWorker.name == worker))


@dataclass(frozen=True)
class Senders:
    """The delivery workers whose heartbeat is fresh, and their senders."""

    workers: int
    alive: int
    wanted: int


def senders(session: Session, clock: Clock) -> Senders:
    workers, alive, wanted = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(DeliveryWorker.senders_alive), 0),
            func.coalesce(func.sum(DeliveryWorker.senders), 0),
        ).where(DeliveryWorker.heartbeat_at >= clock.now() - WORKER_GONE_AFTER)
    ).one()
    return Senders(int(workers), int(alive), int(wanted))


def resume(session: Session, circular: Circular, remaining_quota: int | None) -> str | None:
    """Lift a pause (quota, token) once its cause is gone; None when resumed, else why not.

    A sent circular is paused too when one of its reminders meets the monthly limit. Whole or
    nothing, as at release: the quota must cover everything the circular still has to send,
    besides what circulars not paused have been promised.
    """
    one_release_at_a_time(session)
    session.refresh(circular)
    paused = circular.status in (CircularStatus.sending, CircularStatus.sent)
    if not paused or circular.hold_reason is None:
        return StaffText("この回覧は一時停止していません")
    if remaining_quota is not None:
        still_to_send = _pending_deliveries(session, Circular.id == circular.id)
        others = _pending_deliveries(
            session, Circular.id != circular.id, Circular.hold_reason.is_(None)
        )
        if remaining_quota - others < still_to_send:
            return short_of_quota(still_to_send, remaining_quota - others)
    circular.hold_reason = None
    session.flush()
    return None


def _pending_deliveries(session: Session, *which: ColumnElement[bool]) -> int:
    """Deliveries still to send in the open batches of the circulars `which` selects."""
    count = session.scalar(
        select(func.count())
        .select_from(DeliveryBatch)
        .join(Delivery, Delivery.batch_id == DeliveryBatch.id)
        .join(Circular, Circular.id == DeliveryBatch.circular_id)
        .where(
            DeliveryBatch.status.in_(
                [BatchStatus.pending, BatchStatus.in_flight, BatchStatus.held]
            ),
            Delivery.status == DeliveryStatus.pending,
            *which,
        )
    )
    return int(count or 0)


def short_of_quota(needed: int, available: int) -> str:
    return StaffText(
        "今月のメッセージ残数が足りません（必要 %(needed)s 通、残り %(left)s 通）",
        needed=needed,
        left=max(available, 0),
    )


@dataclass(frozen=True)
class Progress:
    status: CircularStatus
    hold_reason: str | None
    deliveries: dict[str, int]
    batches: dict[str, int]


def progress(session: Session, circular_id: int) -> Progress:
    circular = session.get_one(Circular, circular_id)
    deliveries = dict.fromkeys((s.value for s in DeliveryStatus), 0)
    for status, count in session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.circular_id == circular_id, Delivery.slot == CARD)
        .group_by(Delivery.status)
    ):
        deliveries[status.value] = count
    batches = dict.fromkeys((s.value for s in BatchStatus), 0)
    for batch_status, count in session.execute(
        select(DeliveryBatch.status, func.count())
        .where(DeliveryBatch.circular_id == circular_id, DeliveryBatch.slot == CARD)
        .group_by(DeliveryBatch.status)
    ):
        batches[batch_status.value] = count
    return Progress(circular.status, circular.hold_reason, deliveries, batches)
