"""The LINE-app side: users act, the simulator signs and posts webhooks, the bot replies."""

from __future__ import annotations

import json
import re

import pytest
from linebot.v3.webhooks import FollowEvent, MessageEvent, PostbackEvent

from simulator.testing import ControlAPIError, SimulatorClient
from tests.helpers.simulated_line import GREETING, SECRET, RawLine, TinyBot

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_create_user_and_inbox_shapes(sim: SimulatorClient) -> None:
    created = sim.call("POST", "/users", {"displayName": "田中"})
    assert re.fullmatch(r"U[0-9a-f]{32}", created["userId"])
    assert sim.call("GET", f"/users/{created['userId']}/inbox") == {"messages": []}


def test_follow_is_signed_parsed_by_sdk_and_greeting_reaches_inbox(
    sim: SimulatorClient, bot: TinyBot
) -> None:
    user = sim.create_user("山田 花子")
    result = sim.follow(user)
    assert result["webhook"]["status"] == 200
    assert isinstance(bot.events[0], FollowEvent)
    assert bot.events[0].source.user_id == user
    inbox = sim.inbox(user)
    assert [m["message"] for m in inbox] == [{"type": "text", "text": GREETING}]
    assert inbox[0]["requestId"]


def test_event_json_matches_line(sim: SimulatorClient, bot: TinyBot) -> None:
    user = sim.create_user("山田")
    sim.follow(user)
    sim.text(user, "こんにちは")
    sim.block(user)
    payloads = bot.requests
    assert len(payloads) == 3
    follow, message, unfollow = (p["events"][0] for p in payloads)
    for payload in payloads:
        assert re.fullmatch(r"U[0-9a-f]{32}", payload["destination"])
    for event in (follow, message, unfollow):
        assert event["mode"] == "active"
        assert isinstance(event["timestamp"], int)
        assert event["source"] == {"type": "user", "userId": user}
        assert ULID_RE.match(event["webhookEventId"])
        assert event["deliveryContext"] == {"isRedelivery": False}
    assert follow["follow"] == {"isUnblocked": False}
    assert "replyToken" in follow
    assert message["message"]["text"] == "こんにちは"
    assert message["message"]["type"] == "text"
    assert "replyToken" in message
    assert unfollow["type"] == "unfollow"
    assert "replyToken" not in unfollow


def test_wrong_secret_is_rejected_by_the_sdk(sim: SimulatorClient, base_url: str) -> None:
    wrong = TinyBot(base_url, "another-secret")
    try:
        sim.set_webhook_url(wrong.url)
        user = sim.create_user("x")
        assert sim.follow(user)["webhook"]["status"] == 400
        assert wrong.rejected >= 1
        assert wrong.events == []
    finally:
        wrong.stop()
    right = TinyBot(base_url, SECRET)
    try:
        sim.set_webhook_url(right.url)
        user = sim.create_user("y")
        assert sim.follow(user)["webhook"]["status"] == 200
        assert right.rejected == 0
    finally:
        right.stop()


def test_reply_token_single_use_and_expiring(sim: SimulatorClient, raw: RawLine) -> None:
    user = sim.create_user("z")
    token = sim.follow(user)["event"]["replyToken"]
    body = {"replyToken": token, "messages": [{"type": "text", "text": "ようこそ"}]}
    assert raw.call("POST", "/v2/bot/message/reply", body).status == 200
    second = raw.call("POST", "/v2/bot/message/reply", body)
    assert second.status == 400
    assert json.loads(second.data) == {"message": "Invalid reply token"}
    late = sim.text(user, "遅い返信")["event"]["replyToken"]
    sim.advance_time(61)
    body["replyToken"] = late
    assert raw.call("POST", "/v2/bot/message/reply", body).status == 400
    assert len(sim.inbox(user)) == 1
    # Replies are free.
    assert sim.quota()["used"] == 0


def test_bot_error_is_retried_as_redelivery(sim: SimulatorClient, bot: TinyBot) -> None:
    user = sim.create_user("再送")
    bot.fail_next = 1
    result = sim.follow(user)["webhook"]
    assert [a["status"] for a in result["attempts"]] == [500, 200]
    assert [a["isRedelivery"] for a in result["attempts"]] == [False, True]
    first, second = (p["events"][0] for p in bot.requests)
    assert first["webhookEventId"] == second["webhookEventId"]
    assert second["deliveryContext"] == {"isRedelivery": True}


def test_retries_are_bounded(sim: SimulatorClient, bot: TinyBot) -> None:
    sim.set_webhook_url(bot.url, max_retries=1)
    bot.fail_next = 5
    result = sim.follow(sim.create_user("x"))["webhook"]
    assert [a["status"] for a in result["attempts"]] == [500, 500]


def test_unreachable_bot_reported_not_raised(sim: SimulatorClient) -> None:
    sim.set_webhook_url("http://127.0.0.1:9/callback", timeout_seconds=0.5, max_retries=0)
    result = sim.follow(sim.create_user("x"))["webhook"]
    assert result["status"] is None
    assert result["attempts"][0]["error"]


def test_redelivery_keeps_the_event_id(sim: SimulatorClient, bot: TinyBot) -> None:
    user = sim.create_user("x")
    event_id = sim.text(user, "一回目")["event"]["webhookEventId"]
    sim.redeliver(event_id)
    again = bot.requests[-1]["events"][0]
    assert again["webhookEventId"] == event_id
    assert again["deliveryContext"] == {"isRedelivery": True}


def test_several_events_in_one_request(sim: SimulatorClient, bot: TinyBot) -> None:
    a, b = sim.create_user("a"), sim.create_user("b")
    result = sim.send_events(
        [
            {"userId": a, "action": "follow"},
            {"userId": b, "action": "text", "text": "こんばんは"},
        ]
    )
    assert result["webhook"]["status"] == 200
    assert len(bot.requests) == 1
    assert [e["type"] for e in bot.requests[0]["events"]] == ["follow", "message"]
    assert len(sim.inbox(a)) == 1
    assert len(sim.inbox(b)) == 1


def test_postback_with_params_and_datetime_picker(sim: SimulatorClient, bot: TinyBot) -> None:
    user = sim.create_user("x")
    sim.follow(user)
    sim.postback(user, "ack=12", display_text="確認しました")
    sim.postback(user, "date=1", params={"datetime": "2026-12-01T10:00"})
    sim.pick_datetime(user, "when=1", "date", "2026-12-24")
    postbacks = [e for e in bot.events if isinstance(e, PostbackEvent)]
    assert [p.postback.data for p in postbacks] == ["ack=12", "date=1", "when=1"]
    assert postbacks[0].postback.params is None
    assert postbacks[1].postback.params == {"datetime": "2026-12-01T10:00"}
    assert postbacks[2].postback.params == {"date": "2026-12-24"}
    chat = sim.chat(user)["entries"]
    assert any(e.get("displayText") == "確認しました" for e in chat)


def test_image_message_event(sim: SimulatorClient, bot: TinyBot) -> None:
    user = sim.create_user("x")
    sim.follow(user)
    sim.image(user, b"\xff\xd8\xff photo")
    event = [e for e in bot.events if isinstance(e, MessageEvent)][-1]
    assert event.message.type == "image"
    assert event.message.content_provider.type == "line"


def test_blocked_user_cannot_talk_and_unblock_sends_follow(
    sim: SimulatorClient, bot: TinyBot
) -> None:
    user = sim.create_user("x")
    sim.follow(user)
    sim.block(user)
    with pytest.raises(ControlAPIError) as caught:
        sim.text(user, "hello")
    assert caught.value.status == 409
    sim.unblock(user)
    assert bot.requests[-1]["events"][0]["follow"] == {"isUnblocked": True}


def test_open_uri_is_recorded(sim: SimulatorClient, follower: str) -> None:
    sim.open_uri(follower, "https://kairan.test/c/1")
    last = sim.chat(follower)["entries"][-1]
    assert (last["from"], last["kind"], last["uri"]) == ("user", "uri", "https://kairan.test/c/1")


def test_control_api_has_no_v2_paths_and_needs_no_token(raw: RawLine) -> None:
    assert raw.call("GET", "/_sim/", token=None).status == 200
    assert raw.call("GET", "/v2/bot/message/quota", token=None).status == 401
