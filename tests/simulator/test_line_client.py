"""Kairan's own multicast (broadcasts.delivery.line), which builds its request without pydantic's
validation: it must send exactly what the validated request would, and refuse what validation
would have refused."""

from __future__ import annotations

import uuid

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
