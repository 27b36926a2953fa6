"""The month's message budget: what a circular will cost over its whole life (its card, then each
reminder, deadline and event notice its rules will send) and what everything already scheduled or
sending has committed this month, against LINE's remaining quota — so that a circular whose
reminders would overrun the month is flagged before it is sent, not held halfway.

Follow-ups are counted at their most (everyone who may still need them): a resident who
confirms needs no reminder, so the real cost can only be lower. A correction (訂正) is a circular
of its own and is counted as one once it is scheduled. LINE's month is Asia/Tokyo's.

    costs = life_costs(recipients, release_at, follow_ups)           # pure
    shown = of_circular(session, now, quiet, circular, remaining)    # -> Budget
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from broadcasts.circulars import group_posts
from broadcasts.circulars.targeting import Target, reach
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.monthly_quota import promised_elsewhere
from broadcasts.schedule import reminders
from broadcasts.schedule.rules import QuietHours, allowed_at
from models import CARD, Circular, CircularStatus, Delivery, DeliveryStatus


@dataclass(frozen=True)
class Cost:
    """One message a circular sends (`slot`: CARD or a follow-up's), when, to at most how many."""

    slot: str
    at: datetime
    messages: int


@dataclass(frozen=True)
class CardCounts:
    """A released card's residents, as the follow-ups choose among them."""

    sent: int = 0
    unconfirmed: int = 0
    unanswered: int = 0

    def audience(self, slot: str) -> int:
        """The most residents `slot` can go to (reminders.recipients, counted)."""
        if slot.startswith("reminder-"):
            return self.unconfirmed
        if slot == "deadline" or slot.startswith("safety-"):
            return self.unanswered
        return self.sent


@dataclass(frozen=True)
class Budget:
    """A circular's whole life against the month: `costs` (its card first), what the month has
    already committed elsewhere, and LINE's remaining quota (None: no monthly limit)."""

    costs: tuple[Cost, ...]
    month_end: datetime
    committed: int
    remaining: int | None

    @property
    def total(self) -> int:
        return sum(cost.messages for cost in self.costs)

    @property
    def this_month(self) -> int:
        return sum(cost.messages for cost in self.costs if cost.at < self.month_end)

    @property
    def later(self) -> int:
        """Messages due next month or after: they use that month's quota."""
        return self.total - self.this_month

    @property
    def available(self) -> int | None:
        """What is left of the month once everything already committed has gone."""
        return None if self.remaining is None else self.remaining - self.committed

    @property
    def overruns(self) -> bool:
        """The month cannot carry this circular's life as far as it falls in the month: some
        card or follow-up would be held for quota."""
        available = self.available
        return available is not None and self.this_month > available


def month_end(now: datetime) -> datetime:
    """The start of the next month in Asia/Tokyo (when LINE's quota starts again), as UTC."""
    local = now.astimezone(TOKYO)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime.combine(local.date().replace(year=year, month=month, day=1), time.min, TOKYO)


def month_start(now: datetime) -> datetime:
    local = now.astimezone(TOKYO)
    return datetime.combine(local.date().replace(day=1), time.min, TOKYO)


def life_costs(
    recipients: int, release_at: datetime, follow_ups: Iterable[tuple[str, datetime]]
) -> list[Cost]:
    """The card to `recipients` at `release_at`, then each follow-up to at most as many."""
    return [Cost(CARD, release_at, recipients)] + [
        Cost(slot, at, recipients) for slot, at in follow_ups
    ]


def follow_up_costs(
    follow_ups: Iterable[tuple[str, datetime]],
    counts: CardCounts,
    done: set[str],
    since: datetime,
    until: datetime,
) -> list[Cost]:
    """A released card's follow-ups still to come before `until`, leaving out those `done`
    (released, or skipped as pointless); one due before `since` and not done is held, and
    counts as going at `since`."""
    return [
        Cost(slot, max(at, since), counts.audience(slot))
        for slot, at in follow_ups
        if slot not in done and at < until
    ]


# --- reading the database -----------------------------------------------------------------------


def of_circular(
    session: Session,
    now: datetime,
    quiet: QuietHours,
    circular: Circular,
    remaining: int | None,
) -> Budget:
    """The budget of a circular not yet released: released at its scheduled time (or now, after
    quiet hours), to the residents its target reaches today."""
    release_at = allowed_at(circular.scheduled_at or now, quiet, circular.urgent)
    recipients = reach(session, Target.of_circular(circular)).quota_messages
    follow_ups = reminders.upcoming_if_released(circular, release_at, quiet)
    end = month_end(now)
    costs = life_costs(recipients, release_at, follow_ups)
    # The LINE groups get the card's post only, right after the card: no follow-ups there.
    posts = group_posts.cost(session, circular)
    if posts:
        costs.insert(1, Cost(group_posts.SLOT, release_at, posts))
    return Budget(
        costs=tuple(costs),
        month_end=end,
        committed=committed(session, now, quiet, exclude=circular.id),
        remaining=remaining,
    )


def committed(session: Session, now: datetime, quiet: QuietHours, exclude: int = 0) -> int:
    """Messages this month already committed: deliveries released and not yet accepted, the
    follow-ups of released circulars still due this month, and circulars scheduled this month
    with their follow-ups (`exclude`: the circular being previewed)."""
    end = month_end(now)
    total = promised_elsewhere(session)
    total += sum(cost.messages for cost in _released_follow_ups(session, now, quiet, end))
    scheduled = session.scalars(
        select(Circular).where(
            Circular.status == CircularStatus.scheduled,
            Circular.id != exclude,
            Circular.scheduled_at < end,
        )
    )
    for circular in scheduled:
        release_at = allowed_at(max(circular.scheduled_at or now, now), quiet, circular.urgent)
        recipients = reach(session, Target.of_circular(circular)).quota_messages
        follow_ups = reminders.upcoming_if_released(circular, release_at, quiet)
        total += sum(
            cost.messages
            for cost in life_costs(recipients, release_at, follow_ups)
            if cost.at < end
        )
        if release_at < end:
            total += group_posts.cost(session, circular)
    return total


def _released_follow_ups(
    session: Session, now: datetime, quiet: QuietHours, end: datetime
) -> list[Cost]:
    candidates = reminders.follow_up_candidates(session, now)
    if not candidates:
        return []
    released = reminders.released_slots(session, [circular.id for circular in candidates])
    waiting: list[tuple[Circular, list[tuple[str, datetime]], set[str]]] = []
    for circular in candidates:
        slots = dict(reminders.upcoming(circular, quiet))
        done = {slot for circular_id, slot in released if circular_id == circular.id}
        done |= {
            slot
            for slot, at in slots.items()
            if at <= now and reminders.pointless(circular, slot, slots, now)
        }
        if any(slot not in done and at < end for slot, at in slots.items()):
            waiting.append((circular, list(slots.items()), done))
    # Only the cards with a follow-up still to come this month are counted: most circulars a
    # few days old have had all of theirs.
    counts = card_counts(session, [circular.id for circular, _slots, _done in waiting])
    costs: list[Cost] = []
    for circular, slots_list, done in waiting:
        costs += follow_up_costs(slots_list, counts.get(circular.id, CardCounts()), done, now, end)
    return costs


def card_counts(session: Session, circular_ids: list[int]) -> dict[int, CardCounts]:
    """Each released card's residents reached (or about to be), not confirmed, not answered:
    one pass over the deliveries' covering index (ix_deliveries_circular_area)."""
    rows = session.execute(
        select(
            Delivery.circular_id,
            func.count(),
            func.sum(case((Delivery.confirmed.is_(False), 1), else_=0)),
            func.sum(case((Delivery.answered.is_(False), 1), else_=0)),
        )
        .where(
            Delivery.circular_id.in_(circular_ids),
            Delivery.slot == CARD,
            # A card still sending will reach its pending residents too.
            Delivery.status.in_((DeliveryStatus.sent, DeliveryStatus.pending)),
        )
        .group_by(Delivery.circular_id)
    ).all()
    return {
        circular_id: CardCounts(int(sent), int(unconfirmed or 0), int(unanswered or 0))
        for circular_id, sent, unconfirmed, unanswered in rows
    }
