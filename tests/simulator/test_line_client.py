"""The one LINE client (broadcasts.delivery.line): its own multicast, which builds its request
without pydantic's validation, must send exactly what the validated request would and refuse
what validation would have refused; and LINE's statistics are asked through it too."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    MulticastRequest,
    PostbackAction,
)

from broadcasts.delivery import line as line_api
from simulator.testing import SimulatorClient
from tests.helpers.simulated_line import TOKEN

CARD = FlexMessage(
    alt_text="回覧: 防災訓練のお知らせ",
    contents=FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text="防災訓練", weight="bold")]),
        footer=FlexBox(
            layout="vertical",
            contents=[
                FlexButton(style="primary", action=PostbackAction(label="確認", data="ack=1"))
            ],
        ),
    ),
)


@pytest.fixture
def line(base_url: str) -> line_api.Line:
    return line_api.connect(base_url, TOKEN)


def test_the_body_is_the_validated_requests(line: line_api.Line, sim: SimulatorClient) -> None:
    users = sim.create_users(3)
    outcome = line_api.multicast(line, users, [CARD], uuid.uuid4(), "circular_7")
    assert outcome.result is line_api.Result.accepted
    (logged,) = sim.requests_log("/v2/bot/message/multicast")
    validated = MulticastRequest(to=users, messages=[CARD], custom_aggregation_units=["circular_7"])
    assert logged["body"] == validated.to_dict()
    assert [len(sim.inbox(user)) for user in users] == [1, 1, 1]


@pytest.mark.parametrize("count", [0, line_api.MULTICAST_LIMIT + 1])
def test_a_batch_outside_the_limit_is_refused_before_any_call(
    line: line_api.Line, sim: SimulatorClient, count: int
) -> None:
    users = [f"U{n:032x}" for n in range(count)]
    with pytest.raises(ValueError, match="1 to 500 ids"):
        line_api.multicast(line, users, [CARD], uuid.uuid4(), "circular_7")
    assert sim.requests_log("/v2/bot/message/multicast") == []


def test_statistics_come_through_the_same_client(line: line_api.Line, sim: SimulatorClient) -> None:
    """LINE Insight's per-unit statistics, on the client's host with its token, with LINE's rule
    that every value under 20 users reads as null."""
    users = sim.create_users(21)
    sent = line_api.multicast(line, users, [CARD], uuid.uuid4(), "circular_8")
    assert sent.result is line_api.Result.accepted
    day = date(2026, 12, 1)
    hidden = line_api.UnitStatistics(unique_impression=None, unique_click=None, impression=None)
    assert line_api.unit_statistics(line, "circular_8", day, day) == hidden
    for user in users:
        sim.read(user)
    stats = line_api.unit_statistics(line, "circular_8", day, day)
    assert stats is not None and stats.unique_impression == 21 and stats.impression == 21
    asked = sim.requests_log("/v2/bot/insight/message/event/aggregation")
    assert [entry["status"] for entry in asked] == [200, 200]
    assert "customAggregationUnit=circular_8" in asked[0]["query"]


def test_statistics_are_none_when_line_does_not_answer(
    line: line_api.Line, sim: SimulatorClient
) -> None:
    sim.set_faults(error500=1.0, paths=["/v2/bot/insight/"])
    day = date(2026, 12, 1)
    assert line_api.unit_statistics(line, "circular_8", day, day) is None
