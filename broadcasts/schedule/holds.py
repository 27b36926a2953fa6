"""What the month's quota holds back — a scheduled circular's card, a follow-up, a batch paused by
LINE's monthly limit — recorded once per hold, told once to the author and the admins in LINE,
and resumed by a person (「再開」) or by the clock once the quota allows.

A hold is one open row per circular × slot (a unique partial index): the clock meets the same
hold on every tick and records it once. Its notices are made in the same transaction, one per
staff member, and pushed by `pushes.send_due` with their own retry keys, so each arrives once even
if a tick is repeated or killed after the call. `settle` ends the holds whose cause is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.delivery import monthly_quota
from broadcasts.delivery.pushes import Push
from broadcasts.schedule.reminders import (
    DueReminder,
    Shortfall,
    due_reminders,
    release_follow_up,
)
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff import audit, terms
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryBatch,
    HoldNotice,
    QuotaHold,
    Role,
    StaffMember,
    StaffRole,
)

RELEASED = (CircularStatus.sending, CircularStatus.sent)
NOT_HELD = StaffText("この回覧は一時停止していません")
# The words of a slot in a notice; LINE messages to staff are Japanese, as the digest is.
WHAT = {CARD: "カード", "deadline": "回答しめきりの前日のお知らせ", "event": "行事の前日のお知らせ"}


def hold(
    session: Session,
    clock: Clock,
    circular_id: int,
    slot: str,
    needed: int | None = None,
    available: int | None = None,
) -> bool:
    """Record that `slot` of the circular is held for quota; True when this call opened the
    hold (its notices are then made), False when it was held already."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    opened = session.execute(
        insert(QuotaHold)
        .values(
            circular_id=circular_id,
            slot=slot,
            needed=needed,
            available=None if available is None else max(available, 0),
            held_at=clock.now(),
        )
        .on_conflict_do_nothing(
            index_elements=["circular_id", "slot"], index_where=QuotaHold.ended_at.is_(None)
        )
        .returning(QuotaHold.id)
    ).scalar()
    if opened is None:
        return False
    for member_id in _told(session, circular_id, clock.now()):
        session.add(HoldNotice(hold_id=opened, staff_member_id=member_id))
    session.flush()
    return True


def _told(session: Session, circular_id: int, now: datetime) -> list[int]:
    """Who hears of a hold: the circular's author, and every admin whose term runs."""
    author = session.scalar(select(Circular.author_id).where(Circular.id == circular_id))
    admins = session.scalars(
        select(StaffRole.staff_member_id)
        .where(StaffRole.role == Role.admin, terms.in_force(now))
        .distinct()
    )
    return sorted({author, *admins} - {None})


def hold_pauses(session: Session, clock: Clock, circular_ids: Iterable[int]) -> int:
    """A hold for each slot of these circulars that LINE's monthly limit paused (the worker sets
    the pause on the circular; its open batches say which slots wait)."""
    opened = 0
    for circular_id in circular_ids:
        slots = session.scalars(
            select(DeliveryBatch.slot)
            .where(
                DeliveryBatch.circular_id == circular_id,
                DeliveryBatch.status.in_(monthly_quota.OPEN_BATCHES),
            )
            .distinct()
        )
        for slot in sorted(slots):
            opened += hold(session, clock, circular_id, slot)
    return opened


def open_holds(session: Session, circular_id: int) -> list[QuotaHold]:
    return list(
        session.scalars(
            select(QuotaHold)
            .where(QuotaHold.circular_id == circular_id, QuotaHold.ended_at.is_(None))
            .order_by(QuotaHold.id)
        )
    )


@dataclass(frozen=True)
class Held:
    circular_id: int
    title: str
    slot: str
    held_at: datetime


def held_in(session: Session, scope: Scope, limit: int = 100) -> list[Held]:
    """What is held now, of the circulars `scope` sees, oldest first (for the month's page)."""
    rows = session.execute(
        select(QuotaHold.circular_id, Circular.title, QuotaHold.slot, QuotaHold.held_at)
        .join(Circular, Circular.id == QuotaHold.circular_id)
        .where(QuotaHold.ended_at.is_(None), scope.circulars())
        .order_by(QuotaHold.held_at, QuotaHold.id)
        .limit(limit)
    ).all()
    return [Held(*row) for row in rows]


def settle(session: Session, clock: Clock, due: Iterable[DueReminder]) -> int:
    """End every open hold whose cause is gone; returns how many. A released slot's hold ends
    with its circular's pause; an unreleased follow-up's when it is no longer due (released,
    superseded, its moment gone); a card's when its circular is no longer held or cancelled."""
    still_due = {(d.circular_id, d.slot) for d in due}
    released = exists().where(
        Delivery.circular_id == QuotaHold.circular_id, Delivery.slot == QuotaHold.slot
    )
    rows = session.execute(
        select(QuotaHold, Circular.status, Circular.hold_reason, released)
        .join(Circular, Circular.id == QuotaHold.circular_id)
        .where(QuotaHold.ended_at.is_(None))
    ).all()
    over = [
        held.id
        for held, status, reason, was_released in rows
        if status is CircularStatus.cancelled
        or (was_released and reason is None)
        or (not was_released and held.slot == CARD and reason is None)
        or (
            not was_released
            and held.slot != CARD
            and (held.circular_id, held.slot) not in still_due
        )
    ]
    if over:
        session.execute(
            update(QuotaHold).where(QuotaHold.id.in_(over)).values(ended_at=clock.now())
        )
        session.flush()
    return len(over)


# --- 「再開」 ------------------------------------------------------------------------------------


def resume(
    session: Session,
    clock: Clock,
    actor_id: int | None,
    circular: Circular,
    remaining_quota: int | None,
    quiet: QuietHours,
) -> str | None:
    """Resume whatever of `circular` is held: a pause is lifted, a held scheduled card released,
    each held follow-up still due released. None when resumed; else why not (Japanese), for
    instance the quota still short. Pressing twice says it is no longer held."""
    if circular.status in RELEASED and circular.hold_reason is not None:
        reason = monthly_quota.resume(session, circular, remaining_quota)
        if reason is not None:
            return reason
    elif circular.status is CircularStatus.scheduled and circular.hold_reason is not None:
        result = release(session, clock, circular, remaining_quota)
        if not result.released:
            return result.reason
    elif not open_holds(session, circular.id):
        return NOT_HELD
    due = due_reminders(session, clock.now(), quiet)
    for follow_up in due:
        if follow_up.circular_id != circular.id:
            continue
        if not any(h.slot == follow_up.slot for h in open_holds(session, circular.id)):
            continue
        outcome = release_follow_up(session, clock, follow_up, remaining_quota)
        if isinstance(outcome, Shortfall):
            return monthly_quota.short_of_quota(outcome.needed, outcome.available)
    settle(session, clock, due_reminders(session, clock.now(), quiet))
    audit.record(session, clock, actor_id, "circular.resumed", "circular", circular.id)
    return None


# --- the notices --------------------------------------------------------------------------------


def next_notice(session: Session, now: datetime) -> HoldNotice | None:
    """The next notice due (pushes.send_due's `next_due`)."""
    return session.scalars(
        select(HoldNotice)
        .where(
            HoldNotice.status == BatchStatus.pending,
            (HoldNotice.next_attempt_at.is_(None)) | (HoldNotice.next_attempt_at <= now),
        )
        .order_by(HoldNotice.id)
        .limit(1)
    ).first()


def notice_push(session: Session, notice: HoldNotice, dashboard_url: str) -> Push:
    """The notice's message; nothing when its hold ended before it could go."""
    from linebot.v3.messaging import TextMessage

    held = session.get_one(QuotaHold, notice.hold_id)
    if held.ended_at is not None:
        return Push(skip="resumed before the notice")
    member = session.get_one(StaffMember, notice.staff_member_id)
    circular = session.get_one(Circular, held.circular_id)
    return Push(member.line_user_id, [TextMessage(text=notice_text(circular, held, dashboard_url))])


def notice_text(circular: Circular, held: QuotaHold, dashboard_url: str) -> str:
    what = WHAT.get(held.slot) or _numbered(held.slot)
    numbers = (
        f"（必要 {held.needed} 通、残り {held.available} 通）"
        if held.needed is not None and held.available is not None
        else ""
    )
    url = f"{dashboard_url.rstrip('/')}/circulars/{circular.id}"
    return "\n".join(
        [
            "【配信の保留】",
            f"回覧「{circular.title}」の{what}を、今月のメッセージ上限のため保留しました{numbers}。",
            "メッセージに余裕ができると自動で送ります。すぐ送るには管理画面の「再開」から：",
            url,
        ]
    )


def _numbered(slot: str) -> str:
    series, _sep, number = slot.rpartition("-")
    if series == "reminder":
        return f"確認のお願い（{number}回目）"
    if series == "safety":
        return f"安否確認のお知らせ（{number}回目）"
    return slot
