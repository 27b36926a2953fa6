"""The chaos census judges made-up timelines as the run would (bench/census.py)."""

from __future__ import annotations

import pytest

from bench.census import (
    AFTER_ACCEPTANCE,
    AGREE,
    DISAGREE,
    HEARD_LATE,
    UNHEARD_EARLIER,
    Evidence,
    Request,
    judge,
)

# A request LINE began at 10 s and accepted at 12 s, answered at once (epoch ms); a retry's 409.
ACCEPTED_200 = Request("r-ok", 200, started=10_000, accepted=12_000, answered=12_000)
ACCEPTED_500 = Request("r-500", 500, started=10_000, accepted=12_000, answered=12_000)
ACCEPTED_UNHEARD = Request("r-lost", 0, started=10_000, accepted=12_000, answered=12_000)
DROPPED_BEFORE = Request("r-drop", 500, started=5_000, accepted=None, answered=5_100)
CONFLICT = Request("r-409", 409, started=40_000, accepted=None, answered=40_050)


def evidence(**facts: object) -> Evidence:
    values: dict[str, object] = {
        "recorded_sent": True,
        "received": False,
        "blocked_by_line": False,
        "unfollow_recorded": 11_000,
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
        pytest.param({"unfollow_recorded": 12_500}, HEARD_LATE, id="unfollow heard after LINE's"),
        # The engine heard the 200 at 12 s and knew of the unfollow at 11 s: its own fault.
        pytest.param({}, DISAGREE, id="unfollow known before a heard 200"),
        # A 500 LINE had accepted, dated at its end; the unfollow came before: its own fault.
        pytest.param(
            {"requests": (ACCEPTED_500, CONFLICT), "server_errors": {"r-500": 12_020}},
            DISAGREE,
            id="unfollow known before a 500's end",
        ),
        # The worker that sent the accepted request died; its claim at 9.9 s dates it.
        pytest.param(
            {"requests": (ACCEPTED_UNHEARD, CONFLICT), "maybe_accepted_since": 9_900},
            UNHEARD_EARLIER,
            id="accepted request of a killed worker",
        ),
        # An earlier request went unanswered (LINE had not taken it, but Kairan cannot know).
        pytest.param(
            {
                "requests": (DROPPED_BEFORE, ACCEPTED_UNHEARD, CONFLICT),
                "maybe_accepted_since": 5_100,
            },
            UNHEARD_EARLIER,
            id="an earlier dropped request",
        ),
        # The accepted request's drop was heard: dated at its end, after the unfollow.
        pytest.param(
            {"requests": (ACCEPTED_UNHEARD, CONFLICT), "maybe_accepted_since": 12_030},
            DISAGREE,
            id="accepted request whose drop was heard",
        ),
        pytest.param(
            {"recorded_sent": False, "received": True}, DISAGREE, id="skipped but received"
        ),
        pytest.param({"requests": (CONFLICT,)}, DISAGREE, id="sent, LINE accepted nothing"),
    ],
)
def test_a_record_is_judged_from_both_sides_evidence(
    facts: dict[str, object], verdict: str
) -> None:
    assert judge(evidence(**facts)) == verdict
