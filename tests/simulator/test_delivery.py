"""Delivery rules: retry keys, quota, blocked users, rate limits, and the read-only endpoints."""

from __future__ import annotations

import json
import uuid

import pytest
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    TextMessage,
    URIAction,
)

from simulator.testing import SimulatorClient
from tests.helpers.simulated_line import TOKEN, RawLine

TIMEOUT = 5


def multicast_body(to: list[str], text: str = "回覧") -> dict[str, object]:
    return {"to": to, "messages": [{"type": "text", "text": text}]}


def test_retry_key_replay_is_409_and_delivers_once(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    key = str(uuid.uuid4())
    headers = {"X-Line-Retry-Key": key}
    first = raw.call(
        "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
    )
    assert first.status == 200
    second = raw.call(
        "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
    )
    assert second.status == 409
    assert second.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert second.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    inbox = sim.inbox(follower)
    assert len(inbox) == 1
    assert inbox[0]["requestId"] == first.headers["x-line-request-id"]
    assert sim.quota()["used"] == 1


def test_push_retry_key_409_repeats_sent_messages(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    headers = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": follower, "messages": [{"type": "text", "text": "一度だけ"}]}
    first = raw.call("POST", "/v2/bot/message/push", body, headers=headers)
    second = raw.call("POST", "/v2/bot/message/push", body, headers=headers)
    assert second.status == 409
    assert json.loads(second.data)["sentMessages"] == json.loads(first.data)["sentMessages"]
    assert len(sim.inbox(follower)) == 1


def test_retry_key_forgotten_after_24_simulated_hours(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    headers = {"X-Line-Retry-Key": str(uuid.uuid4())}
    assert (
        raw.call(
            "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
        ).status
        == 200
    )
    sim.advance_time(23 * 3600)
    assert (
        raw.call(
            "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
        ).status
        == 409
    )
    sim.advance_time(3601)
    assert (
        raw.call(
            "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
        ).status
        == 200
    )
    assert len(sim.inbox(follower)) == 2


def test_failed_request_does_not_consume_retry_key(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    headers = {"X-Line-Retry-Key": str(uuid.uuid4())}
    sim.set_quota(0)
    assert (
        raw.call(
            "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
        ).status
        == 429
    )
    sim.set_quota(10)
    assert (
        raw.call(
            "POST", "/v2/bot/message/multicast", multicast_body([follower]), headers=headers
        ).status
        == 200
    )


@pytest.mark.parametrize("key", [str(uuid.uuid4()), "not-a-uuid"])
def test_retry_key_on_reply_is_400(raw: RawLine, key: str) -> None:
    body = {"replyToken": "0" * 32, "messages": [{"type": "text", "text": "x"}]}
    response = raw.call("POST", "/v2/bot/message/reply", body, headers={"X-Line-Retry-Key": key})
    assert response.status == 400
    assert "message" in json.loads(response.data)


def test_retry_key_must_be_a_uuid(raw: RawLine, follower: str) -> None:
    response = raw.call(
        "POST",
        "/v2/bot/message/multicast",
        multicast_body([follower]),
        headers={"X-Line-Retry-Key": "abc"},
    )
    assert response.status == 400


def test_quota_exceeded_is_429_and_nothing_delivered(raw: RawLine, sim: SimulatorClient) -> None:
    users = [sim.create_user(f"住民{i}") for i in range(3)]
    for user in users:
        sim.follow(user)
    sim.set_quota(5, used=3)
    response = raw.call("POST", "/v2/bot/message/multicast", multicast_body(users))
    assert response.status == 429
    assert json.loads(response.data) == {"message": "You have reached your monthly limit."}
    assert all(sim.inbox(u) == [] for u in users)
    assert sim.quota()["used"] == 3
    sim.set_quota(6)
    assert raw.call("POST", "/v2/bot/message/multicast", multicast_body(users)).status == 200
    assert all(len(sim.inbox(u)) == 1 for u in users)
    consumption = json.loads(raw.call("GET", "/v2/bot/message/quota/consumption").data)
    assert consumption == {"totalUsage": 6}
    assert json.loads(raw.call("GET", "/v2/bot/message/quota").data) == {
        "type": "limited",
        "value": 6,
    }


def test_unlimited_quota_reports_type_none(raw: RawLine, sim: SimulatorClient) -> None:
    sim.set_quota(None)
    assert json.loads(raw.call("GET", "/v2/bot/message/quota").data) == {"type": "none"}


def test_blocked_and_unknown_users_get_nothing_and_cost_nothing(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    blocked = sim.create_user("ブロックした人")
    sim.follow(blocked)
    sim.block(blocked)
    never = sim.create_user("未登録")
    unknown = "U" + "f" * 32
    response = raw.call(
        "POST", "/v2/bot/message/multicast", multicast_body([follower, blocked, never, unknown])
    )
    assert response.status == 200
    push = raw.call(
        "POST", "/v2/bot/message/push", {"to": blocked, "messages": [{"type": "text", "text": "x"}]}
    )
    assert push.status == 200
    assert sim.inbox(blocked) == []
    assert sim.inbox(never) == []
    assert len(sim.inbox(follower)) == 1
    assert sim.quota()["used"] == 1
    sim.unblock(blocked)
    assert (
        raw.call(
            "POST",
            "/v2/bot/message/push",
            {"to": blocked, "messages": [{"type": "text", "text": "x"}]},
        ).status
        == 200
    )
    assert len(sim.inbox(blocked)) == 1


def test_rate_limit_is_429_until_the_window_passes(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    sim.set_rate_limits(limits={"multicast": {"requests": 2, "perSeconds": 60}})
    statuses = [
        raw.call("POST", "/v2/bot/message/multicast", multicast_body([follower])).status
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert len(sim.inbox(follower)) == 2
    sim.advance_time(60)
    assert raw.call("POST", "/v2/bot/message/multicast", multicast_body([follower])).status == 200
    sim.set_rate_limits(enabled=False)
    assert all(
        raw.call("POST", "/v2/bot/message/multicast", multicast_body([follower])).status == 200
        for _ in range(3)
    )


def test_rate_limit_answer_has_line_message(raw: RawLine, sim: SimulatorClient) -> None:
    sim.set_rate_limits(limits={"default": {"requests": 0, "perSeconds": 1}})
    response = raw.call("GET", "/v2/bot/message/quota")
    assert response.status == 429
    assert json.loads(response.data) == {"message": "Too many requests"}


def test_sdk_bodies_are_accepted(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    card = FlexMessage(
        alt_text="回覧: 防災訓練のお知らせ",
        contents=FlexBubble(
            body=FlexBox(layout="vertical", contents=[FlexText(text="防災訓練", weight="bold")]),
            footer=FlexBox(
                layout="vertical",
                contents=[
                    FlexButton(action=URIAction(label="詳しく見る", uri="https://kairan.test/c/1")),
                    FlexButton(
                        style="primary", action=PostbackAction(label="確認しました", data="ack=1")
                    ),
                ],
            ),
        ),
    )
    line_api.multicast(
        MulticastRequest(to=[follower], messages=[card], custom_aggregation_units=["d01_a02"]),
        _request_timeout=TIMEOUT,
    )
    quick = TextMessage(
        text="出席しますか？",
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(action=PostbackAction(label="はい", data="answer=yes")),
                QuickReplyItem(action=PostbackAction(label="いいえ", data="answer=no")),
            ]
        ),
    )
    sent = line_api.push_message(
        PushMessageRequest(to=follower, messages=[quick]), _request_timeout=TIMEOUT
    )
    assert len(sent.sent_messages) == 1
    inbox = sim.inbox(follower)
    assert [m["message"]["type"] for m in inbox] == ["flex", "text"]
    assert inbox[0]["customAggregationUnits"] == ["d01_a02"]
    assert inbox[1]["message"]["quickReply"]["items"][1]["action"]["data"] == "answer=no"


def test_sdk_sees_validation_errors_as_api_exception(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    with pytest.raises(ApiException) as caught:
        line_api.push_message(
            PushMessageRequest(to=follower, messages=[TextMessage(text="あ" * 5001)]),
            _request_timeout=TIMEOUT,
        )
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["details"][0]["property"] == "messages[0].text"
    assert sim.inbox(follower) == []


def test_profile_of_simulated_user(line_api: MessagingApi, sim: SimulatorClient) -> None:
    user = sim.create_user("佐藤 一郎")
    sim.follow(user)
    profile = line_api.get_profile(user, _request_timeout=TIMEOUT)
    assert profile.display_name == "佐藤 一郎"
    assert profile.user_id == user
    with pytest.raises(ApiException) as caught:
        line_api.get_profile("U" + "0" * 32, _request_timeout=TIMEOUT)
    assert caught.value.status == 404


def test_narrowcast_reaches_followers_and_reports_progress(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    response = raw.call(
        "POST", "/v2/bot/message/narrowcast", {"messages": [{"type": "text", "text": "全体へ"}]}
    )
    assert response.status == 202
    request_id = response.headers["x-line-request-id"]
    progress = json.loads(
        raw.call("GET", f"/v2/bot/message/progress/narrowcast?requestId={request_id}").data
    )
    assert progress["phase"] == "succeeded"
    assert progress["successCount"] == 1
    assert len(sim.inbox(follower)) == 1


def test_unit_statistics_hide_values_under_20(raw: RawLine, sim: SimulatorClient) -> None:
    users = [sim.create_user(f"住民{i}") for i in range(21)]
    for user in users:
        sim.follow(user)
    body = multicast_body(users) | {"customAggregationUnits": ["han_3"]}
    assert raw.call("POST", "/v2/bot/message/multicast", body).status == 200
    for user in users[:19]:
        sim.read(user)
    path = "/v2/bot/insight/message/event/aggregation?customAggregationUnit=han_3"
    day = "20260101"
    stats = json.loads(raw.call("GET", f"{path}&from={day}&to={day}").data)
    assert stats["overview"]["uniqueImpression"] is None
    sim.read(users[19])
    stats = json.loads(raw.call("GET", f"{path}&from={day}&to={day}").data)
    assert stats["overview"]["uniqueImpression"] == 20
    units = json.loads(raw.call("GET", "/v2/bot/message/aggregation/list").data)
    assert units["customAggregationUnits"] == ["han_3"]
    info = json.loads(raw.call("GET", "/v2/bot/message/aggregation/info").data)
    assert info == {"numOfCustomAggregationUnits": 1}


def test_rich_menu_create_upload_default_and_link(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "main",
        "chatBarText": "メニュー",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                "action": {"type": "postback", "label": "登録", "data": "menu=register"},
            }
        ],
    }
    created = raw.call("POST", "/v2/bot/richmenu", menu)
    assert created.status == 200
    menu_id = json.loads(created.data)["richMenuId"]
    # LINE refuses to apply a menu that has no image yet.
    assert raw.call("POST", f"/v2/bot/user/all/richmenu/{menu_id}").status == 400
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    upload = raw.call(
        "POST",
        f"/v2/bot/richmenu/{menu_id}/content",
        raw=png,
        headers={"Content-Type": "image/png"},
    )
    assert upload.status == 200
    assert raw.call("POST", f"/v2/bot/user/all/richmenu/{menu_id}").status == 200
    assert sim.chat(follower)["richMenu"]["richMenuId"] == menu_id
    assert raw.call("POST", f"/v2/bot/user/{follower}/richmenu/{menu_id}").status == 200
    linked = json.loads(raw.call("GET", f"/v2/bot/user/{follower}/richmenu").data)
    assert linked == {"richMenuId": menu_id}
    assert raw.call("GET", f"/v2/bot/richmenu/{menu_id}/content").data == png


def test_rich_menu_creation_rate_limited_per_hour(raw: RawLine, sim: SimulatorClient) -> None:
    sim.set_rate_limits(limits={"richmenuCreate": {"requests": 1, "perSeconds": 3600}})
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "m",
        "chatBarText": "menu",
        "areas": [],
    }
    assert raw.call("POST", "/v2/bot/richmenu", menu).status == 200
    assert raw.call("POST", "/v2/bot/richmenu", menu).status == 429


def test_user_image_served_from_content_endpoint(
    line_api: MessagingApi, base_url: str, sim: SimulatorClient, follower: str
) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256))
    result = sim.image(follower, jpeg)
    message_id = result["event"]["message"]["id"]
    with ApiClient(Configuration(host=base_url, access_token=TOKEN)) as client:
        blob = MessagingApiBlob(client)
        assert blob.get_message_content(message_id, _request_timeout=TIMEOUT) == jpeg


def test_inbox_census_per_aggregation_unit(raw: RawLine, sim: SimulatorClient) -> None:
    """A census of one unit's copies (one circular's), besides every message: a benchmark
    that sends two circulars at once tells a resident holding both from one holding one twice."""
    first, second = sim.create_users(2)
    for unit, to in (("circular_1", [first, second]), ("circular_2", [first])):
        body = multicast_body(to) | {"customAggregationUnits": [unit]}
        assert raw.call("POST", "/v2/bot/message/multicast", body).status == 200
    assert raw.call("POST", "/v2/bot/message/multicast", multicast_body([second])).status == 200
    assert sim.inbox_counts() == {first: 2, second: 2}
    assert sim.inbox_counts(unit="circular_1") == {first: 1, second: 1}
    assert sim.inbox_counts(unit="circular_2") == {first: 1, second: 0}
