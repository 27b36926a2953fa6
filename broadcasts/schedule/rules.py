"""When things may happen: quiet hours and reminder times, as pure functions of time.

Everything is computed in Asia/Tokyo (where residents live) and returned as aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from broadcasts.core.clock import TOKYO

EVENING = time(18, 0)  # event and deadline reminders go the evening before
DIGEST_TIME = time(19, 0)  # officers' daily summary
MAX_REMINDERS = 2

_SPAN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class QuietHours:
    """Local times between which nothing goes to residents; may wrap past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """ "21:00-08:00"; an equal start and end means no quiet hours."""
        match = _SPAN.fullmatch(text.strip())
        if not match:
            raise ValueError("quiet hours must look like 21:00-08:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment`, or the end of the quiet period it falls in."""
        local = moment.astimezone(TOKYO)
        if not self.contains(local.time().replace(tzinfo=None)):
            return moment
        end = datetime.combine(local.date(), self.end, TOKYO)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(moment.tzinfo)


def allowed_at(moment: datetime, quiet: QuietHours, urgent: bool) -> datetime:
    """When something due at `moment` may go to residents; urgent things go at once."""
    return moment if urgent else quiet.next_allowed(moment)


def evening_before(day: date) -> datetime:
    """18:00 in Tokyo on the day before `day`, as UTC-aware."""
    return datetime.combine(day - timedelta(days=1), EVENING, TOKYO)


def reminder_slots(
    released_at: datetime,
    reminder_hours: list[int],
    answer_deadline: datetime | None,
    event_date: date | None,
) -> list[tuple[str, datetime]]:
    """Every reminder a released circular may get, with the time it falls due (before quiet
    hours): confirmation reminders, the deadline reminder and the event reminder."""
    slots = [
        (f"reminder-{n}", released_at + timedelta(hours=hours))
        for n, hours in enumerate(sorted(reminder_hours)[:MAX_REMINDERS], start=1)
    ]
    if answer_deadline is not None:
        slots.append(("deadline", evening_before(answer_deadline.astimezone(TOKYO).date())))
    if event_date is not None:
        slots.append(("event", evening_before(event_date)))
    # A reminder due before the circular went out would be meaningless.
    return [(slot, due) for slot, due in slots if due > released_at]


def digest_due(day: date) -> datetime:
    return datetime.combine(day, DIGEST_TIME, TOKYO)


SAFETY_REMINDER_EVERY = timedelta(minutes=30)
SAFETY_REMINDERS = 6  # every 30 minutes for 3 hours


def safety_slots(released_at: datetime) -> list[tuple[str, datetime]]:
    """A safety check's reminders: "safety-1" … "safety-6", every 30 minutes after release."""
    return [
        (f"safety-{n}", released_at + SAFETY_REMINDER_EVERY * n)
        for n in range(1, SAFETY_REMINDERS + 1)
    ]
