"""Group chats as LINE documents them: join, leave, memberJoined, memberLeft and group messages
as webhooks; a push to a group id (one copy, one quota message per member, the retry key); the
member count, the summary and the bot's own leave."""

from __future__ import annotations

import re
import uuid

import pytest
from linebot.v3.messaging import ApiException, MessagingApi, PushMessageRequest, TextMessage
from linebot.v3.webhooks import (
    GroupSource,
    JoinEvent,
    LeaveEvent,
    MemberJoinedEvent,
    MemberLeftEvent,
    MessageEvent,
)

from simulator.testing import ControlAPIError, SimulatorClient
from tests.helpers.simulated_line import RawLine, TinyBot


def _group_with(sim: SimulatorClient, members: int) -> tuple[str, list[str]]:
    users = [sim.create_user(f"会員{n}") for n in range(members)]
    return sim.create_group("東町自治会", users), users


def test_group_events_reach_the_bot_parsed_by_the_sdk(sim: SimulatorClient, bot: TinyBot) -> None:
    group_id, users = _group_with(sim, 2)
    assert re.fullmatch(r"C[0-9a-f]{32}", group_id)
    # Before the bot is invited, LINE tells it nothing of the group.
    assert sim.group_act(group_id, "text", user_id=users[0], text="こんにちは")["event"] is None

    sim.group_act(group_id, "invite-bot")
    newcomer = sim.create_user("新人")
    sim.group_act(group_id, "join", user_id=newcomer)
    sim.group_act(group_id, "text", user_id=users[0], text="明日は雨")
    sim.group_act(group_id, "leave", user_id=newcomer)
    sim.group_act(group_id, "remove-bot")

    join, joined, message, left, leave = bot.events
    assert isinstance(join, JoinEvent) and join.reply_token
    assert isinstance(joined, MemberJoinedEvent) and joined.reply_token
    assert [m.user_id for m in joined.joined.members] == [newcomer]
    assert isinstance(message, MessageEvent)
    assert message.source.user_id == users[0]
    assert isinstance(left, MemberLeftEvent)
    assert [m.user_id for m in left.left.members] == [newcomer]
    assert isinstance(leave, LeaveEvent)
    for event in bot.events:
        assert isinstance(event.source, GroupSource)
        assert event.source.group_id == group_id
    raw_leave = bot.requests[-1]["events"][0]
    assert "replyToken" not in raw_leave
    assert "replyToken" not in bot.requests[-2]["events"][0]  # memberLeft
    # The bot's reply to the message went to the group.
    assert [m["message"]["text"] for m in sim.group_inbox(group_id)] == ["受け付けました: 明日は雨"]


def test_push_to_a_group_costs_one_message_per_member_once(
    sim: SimulatorClient, line_api: MessagingApi
) -> None:
    group_id, _users = _group_with(sim, 3)
    sim.group_act(group_id, "invite-bot")
    sim.set_quota(100, used=0)
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=group_id, messages=[TextMessage(text="回覧です")])
    line_api.push_message(request, x_line_retry_key=key)
    with pytest.raises(ApiException) as again:
        line_api.push_message(request, x_line_retry_key=key)
    assert again.value.status == 409
    assert [m["message"]["text"] for m in sim.group_inbox(group_id)] == ["回覧です"]
    assert sim.quota()["used"] == 3


def test_member_count_summary_and_leave(
    sim: SimulatorClient, line_api: MessagingApi, raw: RawLine
) -> None:
    group_id, users = _group_with(sim, 2)
    # A group the bot is not in is unknown to it.
    assert raw.call("GET", f"/v2/bot/group/{group_id}/members/count").status == 404
    sim.group_act(group_id, "invite-bot")
    assert line_api.get_group_member_count(group_id).count == 2
    assert line_api.get_group_summary(group_id).group_name == "東町自治会"
    sim.group_act(group_id, "leave", user_id=users[0])
    assert line_api.get_group_member_count(group_id).count == 1

    line_api.leave_group(group_id)
    assert sim.group(group_id)["botMember"] is False
    with pytest.raises(ApiException) as gone:
        line_api.push_message(PushMessageRequest(to=group_id, messages=[TextMessage(text="x")]))
    assert gone.value.status == 400
    with pytest.raises(ApiException) as unknown:
        line_api.leave_group(group_id)
    assert unknown.value.status == 404


def test_control_refuses_strangers_and_bad_ids(sim: SimulatorClient) -> None:
    group_id, _users = _group_with(sim, 1)
    outsider = sim.create_user("よそ者")
    with pytest.raises(ControlAPIError) as not_member:
        sim.group_act(group_id, "text", user_id=outsider, text="やあ")
    assert not_member.value.status == 409
    with pytest.raises(ControlAPIError) as bad_id:
        sim.call("POST", "/groups", {"groupId": "G123"})
    assert bad_id.value.status == 400
    with pytest.raises(ControlAPIError) as unknown:
        sim.group("C" + "0" * 32)
    assert unknown.value.status == 404
