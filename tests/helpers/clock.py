"""A clock tests move by hand, for services that take a clock."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)
