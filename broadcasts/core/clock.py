"""Time, injected: services ask a clock instead of reading the system time, so tests never sleep.

Times are stored and compared in aware UTC; `TOKYO` is the one zone people read them in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

# Where residents live: every date and time a person reads, and every rule about "the day".
TOKYO = ZoneInfo("Asia/Tokyo")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def tokyo_today(clock: Clock) -> date:
    """Today's date in Asia/Tokyo."""
    return clock.now().astimezone(TOKYO).date()
