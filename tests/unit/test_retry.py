from datetime import UTC, datetime, timedelta

import pytest

from broadcasts.line import Result, SendOutcome
from broadcasts.retry import BACKOFF_CAP, Verdict, backoff, decide, key_still_safe

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("result", "attempts", "age", "verdict"),
    [
        (Result.accepted, 1, timedelta(0), Verdict.accepted),
        (Result.already_accepted, 3, timedelta(hours=5), Verdict.accepted),
        (Result.rejected, 1, timedelta(0), Verdict.failed),
        (Result.quota_exhausted, 1, timedelta(0), Verdict.paused),
        (Result.unauthorized, 2, timedelta(0), Verdict.paused),
        (Result.server_error, 1, timedelta(0), Verdict.retry),
        (Result.unreachable, 7, timedelta(hours=3), Verdict.retry),
        (Result.rate_limited, 2, timedelta(minutes=1), Verdict.retry),
        # A retry that would land past the safe life of the key is handed to a person instead.
        (Result.server_error, 4, timedelta(hours=22, minutes=59, seconds=59), Verdict.held),
        (Result.unreachable, 1, timedelta(hours=23), Verdict.held),
        (Result.rate_limited, 1, timedelta(hours=30), Verdict.held),
    ],
)
def test_what_follows_each_outcome(
    result: Result, attempts: int, age: timedelta, verdict: Verdict
) -> None:
    decision = decide(SendOutcome(result), attempts, T0, T0 + age, random=lambda: 0.5)
    assert decision.verdict is verdict
    assert (decision.retry_at is not None) == (verdict is Verdict.retry)
    if decision.retry_at is not None:
        assert decision.retry_at > T0 + age


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [
        (1, timedelta(seconds=1), timedelta(seconds=2)),
        (2, timedelta(seconds=2), timedelta(seconds=4)),
        (5, timedelta(seconds=16), timedelta(seconds=32)),
        (30, BACKOFF_CAP / 2, BACKOFF_CAP),
    ],
)
def test_backoff_grows_is_capped_and_jittered(
    attempts: int, low: timedelta, high: timedelta
) -> None:
    assert backoff(attempts, lambda: 0.0) == low
    assert backoff(attempts, lambda: 1.0) == high
    assert low < backoff(attempts, lambda: 0.3) < high


def test_a_key_is_safe_until_an_hour_before_line_forgets_it() -> None:
    assert key_still_safe(None, T0)
    assert key_still_safe(T0, T0 + timedelta(hours=22, minutes=59))
    assert not key_still_safe(T0, T0 + timedelta(hours=23))
