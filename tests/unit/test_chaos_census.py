"""The chaos census judges made-up timelines as the run would (bench/census.py)."""

from __future__ import annotations

import pytest

from bench.census import (
    AFTER_ACCEPTANCE,
    AGREE,
    DEAD_CLAIM,
    DISAGREE,
    HEARD_LATE,
    Evidence,
    Request,
    judge,
)

# A request LINE began at 10 s, accepted at 12 s and answered at once (epoch ms).
ACCEPTED_200 = Request("r-ok", 200, started=10_000, accepted=12_000, answered=12_000)
ACCEPTED_500 = Request("r-500", 500, started=10_000, accepted=12_000, answered=12_000)
ACCEPTED_UNHEARD = Request("r-lost", 0, started=10_000, accepted=12_000, answered=12_000)
CONFLICT = Request("r-409", 409, started=40_000, accepted=None, answered=40_050)


def evidence(**facts: object) -> Evidence:
    values: dict[str, object] = {
        "recorded_sent": True,
        "received": False,
        "blocked_by_line": False,
        "unfollow_recorded": 11_000,
        "batch_recorded": 12_100,
        "maybe_accepted_since": None,
        "server_errors": {},
        "requests": (ACCEPTED_200,),
    }
    values.update(facts)
    return Evidence(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "verdict"),
    [
        pytest.param({"received": True}, AGREE, id="sent and received"),
        pytest.param({"recorded_sent": False}, AGREE, id="skipped and not received"),
        pytest.param({"blocked_by_line": True}, AFTER_ACCEPTANCE, id="blocked after LINE's 200"),
        pytest.param({"unfollow_recorded": None}, HEARD_LATE, id="unfollow never heard"),
        pytest.param({"unfollow_recorded": 13_000}, HEARD_LATE, id="unfollow heard after record"),
        # The engine heard the 200 at 12 s and knew of the unfollow at 11 s: its own fault.
        pytest.param({}, DISAGREE, id="unfollow known before a heard 200"),
        # A 500 LINE had accepted, dated at its end; the unfollow came before: its own fault.
        pytest.param(
            {
                "requests": (ACCEPTED_500, CONFLICT),
                "server_errors": {"r-500": 12_020},
                "batch_recorded": 40_100,
            },
            DISAGREE,
            id="unfollow known before a 500's end",
        ),
        # The worker that sent the accepted request died; the claim at 9.9 s dates it.
        pytest.param(
            {
                "requests": (ACCEPTED_UNHEARD, CONFLICT),
                "maybe_accepted_since": 9_900,
                "batch_recorded": 40_100,
            },
            DEAD_CLAIM,
            id="accepted request of a killed worker",
        ),
        # The same request heard (dropped while the worker watched): dated at its end.
        pytest.param(
            {
                "requests": (ACCEPTED_UNHEARD, CONFLICT),
                "maybe_accepted_since": 12_030,
                "batch_recorded": 40_100,
            },
            DISAGREE,
            id="accepted request whose drop was heard",
        ),
        pytest.param(
            {"recorded_sent": False, "received": True}, DISAGREE, id="skipped but received"
        ),
    ],
)
def test_a_record_is_judged_from_both_sides_evidence(
    facts: dict[str, object], verdict: str
) -> None:
    assert judge(evidence(**facts)) == verdict
