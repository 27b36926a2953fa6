"""The month's message budget as pure functions: a circular's whole life against the month, and
the words of a hold's notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.circulars.budget import (
    Budget,
    CardCounts,
    Cost,
    follow_up_costs,
    life_costs,
    month_end,
    month_start,
)
from broadcasts.core.clock import TOKYO
from broadcasts.schedule import holds
from broadcasts.schedule.rules import QuietHours, allowed_at, reminder_slots
from models import CARD, Circular, QuotaHold

QUIET = QuietHours.parse("21:00-08:00")


def tokyo(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("now", "end"),
    [
        (tokyo(12, 2), datetime(2027, 1, 1, tzinfo=TOKYO)),
        (tokyo(11, 30, 23), datetime(2026, 12, 1, tzinfo=TOKYO)),
        # 1 December 08:30 in Tokyo is still 30 November in UTC: LINE's month is Tokyo's.
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=TOKYO)),
        (tokyo(1, 31), datetime(2026, 2, 1, tzinfo=TOKYO)),
    ],
)
def test_the_month_ends_at_midnight_in_tokyo(now: datetime, end: datetime) -> None:
    assert month_end(now) == end
    assert month_start(now) <= now < month_end(now)


def follow_ups(release: datetime, hours: list[int]) -> list[tuple[str, datetime]]:
    return [
        (slot, allowed_at(due, QUIET, False))
        for slot, due in reminder_slots(release, hours, None, None)
    ]


@pytest.mark.parametrize(
    ("release", "hours", "remaining", "committed", "this_month", "later", "overruns"),
    [
        # 10 residents, reminders after 24 and 72 hours: 30 messages, all this month.
        (tokyo(12, 2), [24, 72], 100, 0, 30, 0, False),
        (tokyo(12, 2), [24, 72], 29, 0, 30, 0, True),
        # The card fits, its reminders do not: flagged before sending.
        (tokyo(12, 2), [24, 72], 15, 0, 30, 0, True),
        # What others committed counts first.
        (tokyo(12, 2), [24, 72], 100, 71, 30, 0, True),
        (tokyo(12, 2), [24, 72], 100, 70, 30, 0, False),
        # Released on the 30th: the second reminder falls in January and uses its quota.
        (tokyo(12, 30), [24, 72], 20, 0, 20, 10, False),
        # Due at 10:00 on the 31st + 24 h = 1 January, next month.
        (tokyo(12, 31), [24], 10, 0, 10, 10, False),
        # Without reminders, only the card.
        (tokyo(12, 2), [], 10, 0, 10, 0, False),
    ],
)
def test_a_circulars_life_against_the_month(
    release: datetime,
    hours: list[int],
    remaining: int,
    committed: int,
    this_month: int,
    later: int,
    overruns: bool,
) -> None:
    budget = Budget(
        costs=tuple(life_costs(10, release, follow_ups(release, hours))),
        month_end=month_end(tokyo(12, 1)),
        committed=committed,
        remaining=remaining,
    )
    assert (budget.this_month, budget.later, budget.overruns) == (this_month, later, overruns)
    assert budget.total == this_month + later
    assert budget.costs[0] == Cost(CARD, release, 10)


def test_a_reminder_due_late_in_the_evening_goes_next_month_after_quiet_hours() -> None:
    release = tokyo(12, 30, 22)  # in quiet hours: the card goes at 08:00 on the 31st
    card_at = allowed_at(release, QUIET, False)
    costs = life_costs(5, card_at, follow_ups(release, [24]))
    budget = Budget(tuple(costs), month_end(tokyo(12, 1)), 0, 5)
    assert costs[1].at == tokyo(12, 31, 22).replace(hour=8) + timedelta(days=1)
    assert (budget.this_month, budget.later, budget.overruns) == (5, 5, False)


def test_no_monthly_limit_never_overruns() -> None:
    budget = Budget(tuple(life_costs(10**6, tokyo(12, 2), [])), month_end(tokyo(12, 2)), 10, None)
    assert budget.available is None and not budget.overruns


@pytest.mark.parametrize(
    ("slot", "expected"),
    [("reminder-1", 7), ("reminder-2", 7), ("deadline", 4), ("safety-3", 4), ("event", 10)],
)
def test_a_follow_up_goes_at_most_to_those_it_may_still_need(slot: str, expected: int) -> None:
    assert CardCounts(sent=10, unconfirmed=7, unanswered=4).audience(slot) == expected


def test_follow_ups_done_or_next_month_are_not_committed_and_held_ones_go_now() -> None:
    now = tokyo(12, 10)
    slots = [
        ("reminder-1", tokyo(12, 9)),  # due yesterday, not released: held
        ("reminder-2", tokyo(12, 12)),
        ("deadline", tokyo(12, 20)),  # released already
        ("event", tokyo(1, 5).replace(year=2027)),  # next month
    ]
    costs = follow_up_costs(slots, CardCounts(10, 6, 3), {"deadline"}, now, month_end(now))
    assert costs == [Cost("reminder-1", now, 6), Cost("reminder-2", tokyo(12, 12), 6)]


@given(
    recipients=st.integers(0, 100_000),
    hours=st.lists(st.integers(1, 24 * 40), max_size=3),
    day=st.integers(1, 31),
    remaining=st.integers(0, 500_000),
    committed=st.integers(0, 500_000),
)
def test_the_month_never_counts_more_than_the_whole_life(
    recipients: int, hours: list[int], day: int, remaining: int, committed: int
) -> None:
    release = tokyo(12, day)
    budget = Budget(
        tuple(life_costs(recipients, release, follow_ups(release, hours))),
        month_end(tokyo(12, 1)),
        committed,
        remaining,
    )
    assert 0 <= budget.this_month <= budget.total
    assert budget.this_month >= recipients  # the card goes this month
    assert budget.total == recipients * (1 + min(len(hours), 2))
    assert budget.overruns == (budget.this_month > remaining - committed)


@pytest.mark.parametrize(
    ("slot", "needed", "available", "words"),
    [
        (
            "card",
            5,
            3,
            "のカードを、今月のメッセージ上限のため保留しました（必要 5 通、残り 3 通）。",
        ),
        ("reminder-2", 4, 0, "の確認のお願い（2回目）を"),
        ("deadline", 4, 0, "の回答しめきりの前日のお知らせを"),
        ("safety-3", 4, 0, "の安否確認のお知らせ（3回目）を"),
        # A pause by LINE's monthly limit: no figures were known.
        ("event", None, None, "の行事の前日のお知らせを、今月のメッセージ上限のため保留しました。"),
    ],
)
def test_a_hold_notice_names_the_circular_and_what_is_held_not_its_body(
    slot: str, needed: int | None, available: int | None, words: str
) -> None:
    circular = Circular(id=7, title="清掃活動", body="集合は公民館前")
    held = QuotaHold(circular_id=7, slot=slot, needed=needed, available=available)
    text = holds.notice_text(circular, held, "https://kairan.test/dashboard/")
    assert text.startswith("【配信の保留】") and "回覧「清掃活動」" + words in text
    assert text.endswith("https://kairan.test/dashboard/circulars/7")
    assert "集合は公民館前" not in text
