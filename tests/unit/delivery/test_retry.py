from datetime import UTC, datetime, timedelta

import pytest

from broadcasts.delivery.line import Result, SendOutcome
from broadcasts.delivery.retry import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    Verdict,
    backoff,
    decide,
    key_still_safe,
    refused,
)

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("result", "failures", "age", "verdict"),
    [
        (Result.accepted, 0, timedelta(0), Verdict.accepted),
        (Result.already_accepted, 3, timedelta(hours=5), Verdict.accepted),
        (Result.rejected, 0, timedelta(0), Verdict.failed),
        (Result.quota_exhausted, 0, timedelta(0), Verdict.paused),
        (Result.unauthorized, 1, timedelta(0), Verdict.paused),
        (Result.server_error, 0, timedelta(0), Verdict.retry),
        (Result.unreachable, 6, timedelta(hours=3), Verdict.retry),
        (Result.rate_limited, 1, timedelta(minutes=1), Verdict.retry),
        # A retry that would land past the safe life of the key is handed to a person instead.
        (Result.server_error, 3, timedelta(hours=22, minutes=59, seconds=59), Verdict.held),
        (Result.unreachable, 0, timedelta(hours=23), Verdict.held),
        (Result.rate_limited, 0, timedelta(hours=30), Verdict.held),
    ],
)
def test_what_follows_each_outcome(
    result: Result, failures: int, age: timedelta, verdict: Verdict
) -> None:
    decision = decide(SendOutcome(result), failures, T0, T0 + age, random=lambda: 0.5)
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


@pytest.mark.parametrize(
    ("failures", "longest"),
    [
        # LINE's first failed answer waits the first step, however often the batch was claimed.
        (0, BACKOFF_BASE),
        (1, BACKOFF_BASE * 2),
        (3, BACKOFF_BASE * 8),
        (20, BACKOFF_CAP),
    ],
)
def test_the_wait_grows_with_lines_failed_answers(failures: int, longest: timedelta) -> None:
    decision = decide(SendOutcome(Result.server_error), failures, T0, T0, random=lambda: 1.0)
    assert decision.retry_at == T0 + longest


@pytest.mark.parametrize(
    ("result", "took_nothing"),
    [
        (Result.accepted, False),
        (Result.already_accepted, False),
        # LINE may have accepted a request whose answer never came.
        (Result.unreachable, False),
        (Result.server_error, True),
        (Result.rate_limited, True),
        (Result.quota_exhausted, True),
        (Result.unauthorized, True),
        (Result.rejected, True),
    ],
)
def test_which_answers_say_line_took_nothing(result: Result, took_nothing: bool) -> None:
    assert refused(result) is took_nothing
