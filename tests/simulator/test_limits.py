"""Each LINE limit is enforced with LINE's error shape; a refused request sends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linebot.v3.messaging.models import MulticastRequest

from simulator.testing import SimulatorClient
from simulator.validation import _validate, sdk_validate, utf16_len
from tests.helpers.simulated_line import RawLine, bubble


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": body}


def postback_chip(data: str, label: str = "はい") -> dict[str, Any]:
    return {"type": "action", "action": {"type": "postback", "label": label, "data": data}}


def flex(contents: dict[str, Any], alt_text: str = "回覧が届きました") -> dict[str, Any]:
    return {"type": "flex", "altText": alt_text, "contents": contents}


def assert_refused(response: Any, prop_fragment: str) -> None:
    assert response.status == 400, response.data
    body = json.loads(response.data)
    assert isinstance(body["message"], str)
    assert any(prop_fragment in d["property"] for d in body["details"]), body


def test_multicast_501_recipients_refused_and_nobody_gets_it(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    recipients = [follower] + [f"U{i:032x}" for i in range(500)]
    response = raw.call(
        "POST", "/v2/bot/message/multicast", {"to": recipients, "messages": [text("回覧")]}
    )
    assert_refused(response, "to")
    assert sim.inbox(follower) == []
    assert sim.quota()["used"] == 0


def test_multicast_500_recipients_accepted(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    recipients = [follower] + [f"U{i:032x}" for i in range(499)]
    response = raw.call(
        "POST", "/v2/bot/message/multicast", {"to": recipients, "messages": [text("回覧")]}
    )
    assert response.status == 200
    assert len(sim.inbox(follower)) == 1
    # Unknown ids receive nothing and cost nothing; only the one real follower counts.
    assert sim.quota()["used"] == 1


def test_six_messages_refused(raw: RawLine, sim: SimulatorClient, follower: str) -> None:
    response = raw.call(
        "POST",
        "/v2/bot/message/push",
        {"to": follower, "messages": [text(str(i)) for i in range(6)]},
    )
    assert_refused(response, "messages")
    assert sim.inbox(follower) == []


def test_fourteen_quick_reply_items_refused(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    message = text("どれ？") | {
        "quickReply": {"items": [postback_chip(f"d{i}") for i in range(14)]}
    }
    response = raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [message]})
    assert_refused(response, "messages[0].quickReply.items")
    message["quickReply"]["items"].pop()
    response = raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [message]})
    assert response.status == 200
    assert len(sim.inbox(follower)) == 1


def test_postback_data_over_300_chars_refused(
    raw: RawLine, sim: SimulatorClient, follower: str
) -> None:
    message = text("確認") | {"quickReply": {"items": [postback_chip("x" * 301)]}}
    response = raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [message]})
    assert_refused(response, "data")
    message["quickReply"]["items"] = [postback_chip("x" * 300)]
    assert (
        raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [message]}).status
        == 200
    )


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ("あ" * 5000, True),
        ("あ" * 5001, False),
        # Each emoji outside the BMP is a surrogate pair: 2,500 of them are 5,000 UTF-16 units.
        ("😀" * 2500, True),
        ("😀" * 2500 + "a", False),
    ],
)
def test_text_length_counted_in_utf16_units(
    raw: RawLine, sim: SimulatorClient, follower: str, body: str, accepted: bool
) -> None:
    response = raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [text(body)]})
    if accepted:
        assert response.status == 200
        assert sim.inbox(follower)[0]["message"]["text"] == body
    else:
        assert_refused(response, "messages[0].text")
        assert sim.inbox(follower) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=0, max_size=40))
def test_utf16_length_matches_javascript_semantics(sample: str) -> None:
    expected = sum(2 if ord(ch) > 0xFFFF else 1 for ch in sample)
    assert utf16_len(sample) == expected


def test_alt_text_over_1500_refused(raw: RawLine, sim: SimulatorClient, follower: str) -> None:
    response = raw.call(
        "POST", "/v2/bot/message/push", {"to": follower, "messages": [flex(bubble(), "あ" * 1501)]}
    )
    assert_refused(response, "messages[0].altText")
    assert (
        raw.call(
            "POST",
            "/v2/bot/message/push",
            {"to": follower, "messages": [flex(bubble(), "あ" * 1500)]},
        ).status
        == 200
    )


def test_bubble_over_30kb_refused(raw: RawLine, sim: SimulatorClient, follower: str) -> None:
    # 11,000 three-byte characters are 33 KB of UTF-8, though only 11,000 characters.
    big = bubble("回" * 11000)
    response = raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [flex(big)]})
    assert_refused(response, "messages[0].contents")
    assert sim.inbox(follower) == []


def test_carousel_of_13_bubbles_refused(raw: RawLine, sim: SimulatorClient, follower: str) -> None:
    carousel = {"type": "carousel", "contents": [bubble(f"回覧 {i}") for i in range(13)]}
    response = raw.call(
        "POST", "/v2/bot/message/push", {"to": follower, "messages": [flex(carousel)]}
    )
    assert_refused(response, "messages[0].contents.contents")
    carousel["contents"].pop()
    assert (
        raw.call(
            "POST", "/v2/bot/message/push", {"to": follower, "messages": [flex(carousel)]}
        ).status
        == 200
    )


def test_carousel_over_50kb_refused(raw: RawLine, sim: SimulatorClient, follower: str) -> None:
    carousel = {"type": "carousel", "contents": [bubble("回" * 6000) for _ in range(3)]}
    response = raw.call(
        "POST", "/v2/bot/message/push", {"to": follower, "messages": [flex(carousel)]}
    )
    assert_refused(response, "messages[0].contents")


def test_body_over_2mb_is_413(raw: RawLine, sim: SimulatorClient, follower: str) -> None:
    payload = json.dumps({"to": follower, "messages": [text("x")], "pad": "x" * (2 * 1024 * 1024)})
    response = raw.call("POST", "/v2/bot/message/push", raw=payload.encode())
    assert response.status == 413
    assert "message" in json.loads(response.data)
    assert sim.inbox(follower) == []


def test_http_image_url_refused_https_accepted(raw: RawLine, follower: str) -> None:
    image = {
        "type": "image",
        "originalContentUrl": "http://example.com/a.jpg",
        "previewImageUrl": "https://example.com/a.jpg",
    }
    response = raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [image]})
    assert_refused(response, "originalContentUrl")
    image["originalContentUrl"] = "https://example.com/a.jpg"
    assert (
        raw.call("POST", "/v2/bot/message/push", {"to": follower, "messages": [image]}).status
        == 200
    )


def test_malformed_user_id_refused(raw: RawLine) -> None:
    response = raw.call(
        "POST", "/v2/bot/message/multicast", {"to": ["not-a-user"], "messages": [text("x")]}
    )
    assert_refused(response, "to[0]")


@pytest.mark.parametrize(
    ("token", "message_part"),
    [(None, "Authorization header required"), ("wrong-token", "Authentication failed")],
)
def test_bad_or_missing_token_is_401(
    raw: RawLine, sim: SimulatorClient, follower: str, token: str | None, message_part: str
) -> None:
    response = raw.call(
        "POST", "/v2/bot/message/push", {"to": follower, "messages": [text("x")]}, token=token
    )
    assert response.status == 401
    assert message_part in json.loads(response.data)["message"]
    assert response.headers["x-line-request-id"]
    assert sim.inbox(follower) == []


def test_every_response_has_a_request_id(raw: RawLine) -> None:
    for method, path in [("GET", "/v2/bot/message/quota"), ("GET", "/v2/bot/nothing-here")]:
        response = raw.call(method, path)
        assert response.headers.get("x-line-request-id")


_USER_IDS = st.from_regex(r"U[0-9a-f]{32}", fullmatch=True)
_RECIPIENT = st.one_of(_USER_IDS, st.text(max_size=5), st.integers(), st.none())
_MESSAGE = st.one_of(
    st.builds(text, st.text(max_size=20)),
    st.builds(flex, st.just(bubble())),
    st.builds(flex, st.just({"type": "bubble", "body": {"type": "box"}})),
    st.fixed_dictionaries({"type": st.sampled_from(["text", "sticker", "nonsense"])}),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    recipients=st.one_of(
        st.lists(_RECIPIENT, max_size=4),
        st.integers(min_value=498, max_value=502).map(lambda n: [f"U{i:032x}" for i in range(n)]),
        _USER_IDS,
    ),
    messages=st.lists(_MESSAGE, max_size=6),
    notification_disabled=st.one_of(st.booleans(), st.just("yes")),
)
def test_remembered_validation_answers_as_the_sdk_does_each_time(
    recipients: Any, messages: list[dict[str, Any]], notification_disabled: Any
) -> None:
    """The simulator keeps each distinct request's validation, with the recipients as one
    placeholder: what it says must be what validating that very body says, every time."""
    body = {"to": recipients, "messages": messages, "notificationDisabled": notification_disabled}
    expected = _validate(MulticastRequest, json.loads(json.dumps(body)))
    assert sdk_validate(MulticastRequest, body) == expected
    assert sdk_validate(MulticastRequest, body) == expected


# --- rich menus and follower ids: LINE's documented rules (issue #18, item 21) -----------------


def rich_menu(**changes: Any) -> dict[str, Any]:
    """Kairan's own shape of menu (2500×843, three columns), with `changes` applied; a change
    to None removes the field."""
    menu: dict[str, Any] = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "kairan",
        "chatBarText": "メニュー",
        "areas": [
            {
                "bounds": {"x": x, "y": 0, "width": 833, "height": 843},
                "action": {"type": "postback", "label": "回覧", "data": f"menu={x}"},
            }
            for x in (0, 833, 1666)
        ],
    }
    for key, value in changes.items():
        if value is None:
            menu.pop(key)
        else:
            menu[key] = value
    return menu


def refused_properties(raw: RawLine, menu: dict[str, Any]) -> set[str]:
    answer = raw.call("POST", "/v2/bot/richmenu/validate", menu)
    assert answer.status == 400, answer.data
    created = raw.call("POST", "/v2/bot/richmenu", menu)
    assert created.status == 400
    return {detail["property"] for detail in json.loads(created.data)["details"]}


def test_kairans_menu_shape_is_accepted(raw: RawLine, sim: SimulatorClient) -> None:
    assert raw.call("POST", "/v2/bot/richmenu/validate", rich_menu()).status == 200
    assert raw.call("POST", "/v2/bot/richmenu", rich_menu()).status == 200


@pytest.mark.parametrize(
    ("size", "property_"),
    [
        ({"width": 10102116, "height": 10102116}, "size.width"),
        ({"width": 799, "height": 540}, "size.width"),
        ({"width": 2501, "height": 843}, "size.width"),
        ({"width": 2500, "height": 249}, "size.height"),
        ({"width": 1200, "height": 1200}, "size"),  # narrower than 1.45 : 1
        ({"width": 2500}, "size.height"),
        ({"width": "2500", "height": 843}, "size.width"),
    ],
)
def test_rich_menu_sizes_outside_lines_rules_are_refused(
    raw: RawLine, sim: SimulatorClient, size: dict[str, Any], property_: str
) -> None:
    menu = rich_menu(size=size, areas=[])
    assert property_ in refused_properties(raw, menu)


@pytest.mark.parametrize("field", ["size", "selected", "name", "chatBarText", "areas"])
def test_rich_menus_missing_a_required_field_are_refused(
    raw: RawLine, sim: SimulatorClient, field: str
) -> None:
    assert field in refused_properties(raw, rich_menu(**{field: None}))


@pytest.mark.parametrize(
    ("changes", "property_"),
    [
        ({"chatBarText": "十五文字のチャットバーのテキストです"}, "chatBarText"),
        ({"chatBarText": ""}, "chatBarText"),
        ({"name": "x" * 301}, "name"),
        ({"selected": "yes"}, "selected"),
    ],
)
def test_rich_menu_texts_and_flags_follow_lines_rules(
    raw: RawLine, sim: SimulatorClient, changes: dict[str, Any], property_: str
) -> None:
    assert property_ in refused_properties(raw, rich_menu(**changes))


@pytest.mark.parametrize(
    ("bounds", "property_"),
    [
        ({"x": 2000, "y": 0, "width": 833, "height": 843}, "areas[0].bounds"),
        ({"x": 0, "y": 10, "width": 833, "height": 843}, "areas[0].bounds"),
        ({"x": -1, "y": 0, "width": 833, "height": 843}, "areas[0].bounds.x"),
        ({"x": 0, "y": 0, "width": 0, "height": 843}, "areas[0].bounds.width"),
        ({"x": 0, "y": 0, "width": 833}, "areas[0].bounds.height"),
    ],
)
def test_rich_menu_areas_must_lie_inside_the_image(
    raw: RawLine, sim: SimulatorClient, bounds: dict[str, Any], property_: str
) -> None:
    area = {"bounds": bounds, "action": {"type": "postback", "label": "x", "data": "x"}}
    assert property_ in refused_properties(raw, rich_menu(areas=[area]))


def test_rich_menu_areas_need_an_action(raw: RawLine, sim: SimulatorClient) -> None:
    area = {"bounds": {"x": 0, "y": 0, "width": 833, "height": 843}}
    assert "areas[0].action" in refused_properties(raw, rich_menu(areas=[area]))


@pytest.mark.parametrize("limit", ["-2147483649", "-2", "0", "1001", "5000", "many"])
def test_follower_ids_refuse_a_limit_outside_1_to_1000(
    raw: RawLine, sim: SimulatorClient, limit: str
) -> None:
    assert raw.call("GET", f"/v2/bot/followers/ids?limit={limit}").status == 400


def test_follower_ids_come_in_pages_of_the_limit(raw: RawLine, sim: SimulatorClient) -> None:
    followers = set(sim.create_users(5))
    first = json.loads(raw.call("GET", "/v2/bot/followers/ids?limit=2").data)
    assert len(first["userIds"]) == 2 and first["next"]
    seen = list(first["userIds"])
    page = first
    while "next" in page:
        page = json.loads(
            raw.call("GET", f"/v2/bot/followers/ids?limit=2&start={page['next']}").data
        )
        seen += page["userIds"]
    assert sorted(seen) == sorted(followers)
    assert raw.call("GET", "/v2/bot/followers/ids?start=not-a-token").status == 400
