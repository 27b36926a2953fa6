from datetime import UTC, date, datetime, time, timedelta

import pytest

from broadcasts.core.clock import TOKYO
from broadcasts.schedule.rules import QuietHours, allowed_at, reminder_slots

QUIET = QuietHours.parse("21:00-08:00")


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("due", "allowed"),
    [
        (tokyo(1, 20, 59), tokyo(1, 20, 59)),
        (tokyo(1, 21, 0), tokyo(2, 8, 0)),
        (tokyo(1, 23, 30), tokyo(2, 8, 0)),
        (tokyo(2, 0, 0), tokyo(2, 8, 0)),
        (tokyo(2, 7, 59), tokyo(2, 8, 0)),
        (tokyo(2, 8, 0), tokyo(2, 8, 0)),
        (tokyo(2, 12, 0), tokyo(2, 12, 0)),
    ],
)
def test_quiet_hours_move_things_to_the_morning(due: datetime, allowed: datetime) -> None:
    assert QUIET.next_allowed(due.astimezone(UTC)) == allowed
    assert QUIET.next_allowed(due.astimezone(UTC)).tzinfo is UTC


def test_urgent_ignores_quiet_hours() -> None:
    assert allowed_at(tokyo(1, 23), QUIET, urgent=True) == tokyo(1, 23)
    assert allowed_at(tokyo(1, 23), QUIET, urgent=False) == tokyo(2, 8)


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("21:00-08:00", time(3, 0), time(12, 0)),
        ("12:00-13:00", time(12, 30), time(13, 0)),
    ],
)
def test_quiet_hours_parse_and_contain(text: str, inside: time, outside: time) -> None:
    quiet = QuietHours.parse(text)
    assert quiet.contains(inside)
    assert not quiet.contains(outside)


def test_equal_ends_mean_no_quiet_hours() -> None:
    assert not QuietHours.parse("00:00-00:00").contains(time(3, 0))


@pytest.mark.parametrize("text", ["21-8", "25:00-08:00", "", "21:00–08:00"])
def test_malformed_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="21:00-08:00"):
        QuietHours.parse(text)


def test_reminder_slots() -> None:
    released = tokyo(1, 10)
    slots = dict(
        reminder_slots(
            released,
            [72, 24, 120],
            answer_deadline=tokyo(5, 12),
            event_date=date(2026, 12, 7),
        )
    )
    assert slots == {
        "reminder-1": released + timedelta(hours=24),
        "reminder-2": released + timedelta(hours=72),
        "deadline": tokyo(4, 18),
        "event": tokyo(6, 18),
    }


def test_reminders_due_before_release_are_dropped() -> None:
    released = tokyo(4, 19)
    slots = dict(reminder_slots(released, [], answer_deadline=tokyo(5, 9), event_date=None))
    assert slots == {}
