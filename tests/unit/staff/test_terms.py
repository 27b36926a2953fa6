"""A term's last day (a date in Tokyo) and the instant the role ends."""

from __future__ import annotations

from datetime import UTC, date, datetime

from broadcasts.staff import terms


def test_a_term_ends_at_the_midnight_after_its_last_day_in_tokyo() -> None:
    ends = terms.ends_at(date(2027, 3, 31))
    assert ends == datetime(2027, 3, 31, 15, 0, tzinfo=UTC)
    assert ends is not None and ends.tzinfo is not None
    assert terms.last_day(ends) == date(2027, 3, 31)
    assert terms.ends_at(None) is None and terms.last_day(None) is None


def test_the_last_day_reads_back_for_every_day_of_a_year() -> None:
    day = date(2027, 1, 1)
    while day.year == 2027:
        assert terms.last_day(terms.ends_at(day)) == day
        day = date.fromordinal(day.toordinal() + 1)
