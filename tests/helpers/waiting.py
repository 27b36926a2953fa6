"""Waiting in tests: on a condition, with one generous bound.

On a busy machine (two cores shared by several test runs) a `kairan` process can take tens of
seconds to say it started, so a fixed short deadline fails tests that would pass. Every test that
waits for something waits here: a passing test waits only as long as its condition takes, and a
failing one gives up after `PATIENCE` seconds (KAIRAN_TEST_PATIENCE sets another bound).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = float(os.environ.get("KAIRAN_TEST_PATIENCE", "300"))
POLL_SECONDS = 0.05


def deadline() -> float:
    """The monotonic time by which something started now must have happened."""
    return time.monotonic() + PATIENCE


def wait_until(condition: Callable[[], T], what: str | Callable[[], str]) -> T:
    """The condition's first truthy value; AssertionError naming `what` (a text, or a function
    that gives one, such as a log's contents) if it is still false after PATIENCE seconds."""
    give_up = deadline()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(
                f"still waiting after {PATIENCE:.0f} s: {what() if callable(what) else what}"
            )
        time.sleep(POLL_SECONDS)
