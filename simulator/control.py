"""The control API under /_sim/: the LINE-app side (users acting, their inboxes and chats) and the
logs; the platform's knobs are `simulator.knobs`.

It takes no bearer token (a local test tool) and lives under its own prefix, so nothing in it can
be mistaken for LINE's /v2 API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request

from simulator import webhooks
from simulator.context import Simulator, sim
from simulator.state import SimUser

bp = Blueprint("sim_control", __name__, url_prefix="/_sim")

_PICKER_FORMATS = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "time": re.compile(r"^\d{2}:\d{2}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"),
}


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(ControlError)
def control_error(error: ControlError) -> Response:
    """A control call's error: its status and one message (simulator.knobs answers the same)."""
    response = jsonify({"message": error.message})
    response.status_code = error.status
    return response


def json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    return body


def known_user(user_id: str) -> SimUser:
    user = sim().state.users.get(user_id)
    if user is None:
        raise ControlError(404, "unknown user")
    return user


def string_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ControlError(400, f"'{key}' must be a string")
    return value


# -- users and what they do --------------------------------------------------------------------


@bp.post("/users")
def create_user() -> tuple[Response, int]:
    body = json_object()
    display_name = body.get("displayName", "LINE user")
    if not isinstance(display_name, str) or not display_name.strip():
        raise ControlError(400, "'displayName' must be a non-empty string")
    try:
        user = sim().state.add_user(
            display_name.strip(),
            user_id=body.get("userId"),
            picture_url=body.get("pictureUrl"),
            language=body.get("language", "ja"),
        )
    except ValueError as exc:
        raise ControlError(400, str(exc)) from exc
    return jsonify(user.summary()), 201


@bp.post("/users/bulk")
def create_users() -> tuple[Response, int]:
    """Many users at once, already friends of the bot, as if they had followed before the test
    or the benchmark began: no webhook is sent. For set-up at scale only."""
    body = json_object()
    count = body.get("count")
    if not isinstance(count, int) or not 1 <= count <= 1_000_000:
        raise ControlError(400, "'count' must be an integer from 1 to 1000000")
    prefix = body.get("namePrefix", "住民")
    if not isinstance(prefix, str):
        raise ControlError(400, "'namePrefix' must be a string")
    state = sim().state
    with state.lock:
        users = [state.add_user(f"{prefix}{n}") for n in range(1, count + 1)]
        for user in users:
            user.state = "following"
    return jsonify({"userIds": [user.user_id for user in users]}), 201


@bp.get("/inbox-counts")
def inbox_counts() -> Response:
    """How many messages from the bot each user holds: one census instead of one inbox read
    per user. ``?unit=`` counts only those sent with that custom aggregation unit (one
    circular's copies when several are sent at once)."""
    unit = request.args.get("unit")
    state = sim().state
    with state.lock:
        counts = {
            user.user_id: sum(
                1
                for entry in user.timeline
                if entry["from"] == "bot"
                and (unit is None or unit in entry.get("customAggregationUnits", ()))
            )
            for user in state.users.values()
        }
    return jsonify({"counts": counts})


@bp.get("/users")
def list_users() -> Response:
    state = sim().state
    with state.lock:
        return jsonify({"users": [u.summary() for u in state.users.values()]})


@bp.get("/users/<user_id>")
def get_user(user_id: str) -> Response:
    with sim().state.lock:
        return jsonify(known_user(user_id).summary())


def _act(user_id: str, action: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Applies one user action to the state; returns the webhook event it causes, if any."""
    simulator = sim()
    state = simulator.state
    with state.lock:
        user = known_user(user_id)
        if action == "follow":
            if user.state == "following":
                return None
            was_blocked = user.state == "blocked"
            user.state = "following"
            state.record_user_action(user, "unblock" if was_blocked else "follow")
            return webhooks.make_event(
                simulator, user, "follow", follow={"isUnblocked": was_blocked}
            )
        if action == "unblock":
            if user.state != "blocked":
                return None
            return _act(user_id, "follow", body)
        if action == "block":
            if user.state == "blocked":
                return None
            was_following = user.state == "following"
            user.state = "blocked"
            state.record_user_action(user, "block")
            return webhooks.make_event(simulator, user, "unfollow") if was_following else None
        # A user who blocked the bot cannot talk to it.
        if user.state == "blocked":
            raise ControlError(409, "the user has blocked the bot; unblock first")
        return _message_or_tap(simulator, user, action, body)


def _message_or_tap(
    simulator: Simulator, user: SimUser, action: str, body: dict[str, Any]
) -> dict[str, Any] | None:
    state = simulator.state
    if action == "text":
        text = string_field(body, "text")
        if not text:
            raise ControlError(400, "'text' must not be empty")
        state.record_user_action(user, "text", text=text)
        message: dict[str, Any] = {
            "type": "text",
            "id": state.next_message_id(),
            "quoteToken": secrets.token_urlsafe(24),
            "text": text,
        }
        return webhooks.make_event(simulator, user, "message", message=message)
    if action == "image":
        data, mimetype = _image_payload(body)
        message_id = state.next_message_id()
        state.contents[message_id] = (data, mimetype)
        state.record_user_action(user, "image", messageId=message_id)
        image: dict[str, Any] = {
            "type": "image",
            "id": message_id,
            "quoteToken": secrets.token_urlsafe(24),
            "contentProvider": {"type": "line"},
        }
        return webhooks.make_event(simulator, user, "message", message=image)
    if action in ("postback", "datetime"):
        postback_data = string_field(body, "data")
        params = body.get("params")
        if action == "datetime":
            mode = string_field(body, "mode")
            value = string_field(body, "value")
            pattern = _PICKER_FORMATS.get(mode)
            if pattern is None or not pattern.match(value):
                raise ControlError(400, "'mode' must be date|time|datetime with a matching value")
            params = {mode: value}
        if params is not None and not isinstance(params, dict):
            raise ControlError(400, "'params' must be an object")
        display_text = body.get("displayText")
        state.record_user_action(
            user, "postback", data=postback_data, params=params, displayText=display_text
        )
        postback: dict[str, Any] = {"data": postback_data}
        if params:
            postback["params"] = params
        return webhooks.make_event(simulator, user, "postback", postback=postback)
    if action == "uri":
        uri = string_field(body, "uri")
        state.record_user_action(user, "uri", uri=uri)
        state.record_click(user, uri, _units_of_message_with(user, uri))
        return None
    raise ControlError(404, "unknown action")


def _units_of_message_with(user: SimUser, uri: str) -> list[str]:
    """The aggregation units of the latest message that offered this link."""
    needle = json.dumps(uri)
    for entry in reversed(user.timeline):
        if entry["from"] == "bot" and needle in json.dumps(entry["message"]):
            units: list[str] = entry["customAggregationUnits"]
            return units
    return []


def _image_payload(body: dict[str, Any]) -> tuple[bytes, str]:
    if request.is_json:
        try:
            data = base64.b64decode(string_field(body, "base64"), validate=True)
        except binascii.Error as exc:
            raise ControlError(400, "'base64' is not valid base64") from exc
        mimetype = body.get("contentType", "image/jpeg")
    else:
        data, mimetype = request.get_data(), request.mimetype or "image/jpeg"
    if not data:
        raise ControlError(400, "the image is empty")
    return data, str(mimetype)


_ACTIONS = ("follow", "block", "unblock", "text", "image", "postback", "datetime", "uri")


@bp.post("/users/<user_id>/<action>")
def user_action(user_id: str, action: str) -> Response:
    if action == "read":
        with sim().state.lock:
            return jsonify({"seen": sim().state.record_impressions(known_user(user_id))})
    if action not in _ACTIONS:
        raise ControlError(404, "unknown action")
    body = {} if action == "image" and not request.is_json else json_object()
    event = _act(user_id, action, body)
    with sim().state.lock:
        user = known_user(user_id).summary()
    if event is None:
        return jsonify({"user": user, "event": None, "webhook": None})
    return jsonify({"user": user, "event": event, "webhook": webhooks.deliver(sim(), [event])})


@bp.post("/events")
def several_events() -> Response:
    """Several user actions delivered in one webhook request, as LINE sometimes batches them."""
    actions = json_object().get("events")
    if not isinstance(actions, list) or not actions:
        raise ControlError(400, "'events' must be a non-empty list")
    events: list[dict[str, Any]] = []
    for item in actions:
        if not isinstance(item, dict) or item.get("action") not in _ACTIONS:
            raise ControlError(400, "each event needs 'userId' and a known 'action'")
        event = _act(string_field(item, "userId"), item["action"], item)
        if event is not None:
            events.append(event)
    if not events:
        return jsonify({"events": [], "webhook": None})
    return jsonify({"events": events, "webhook": webhooks.deliver(sim(), events)})


@bp.post("/redeliver")
def redeliver() -> Response:
    body = json_object()
    ids = body.get("webhookEventIds") or [body.get("webhookEventId")]
    state = sim().state
    with state.lock:
        events = [state.webhook_events.get(i) for i in ids if isinstance(i, str)]
    known = [e for e in events if e is not None]
    if not known or len(known) != len(ids):
        raise ControlError(404, "unknown webhookEventId")
    return jsonify({"webhook": webhooks.deliver(sim(), known, redelivery=True)})


@bp.get("/users/<user_id>/inbox")
def inbox(user_id: str) -> Response:
    with sim().state.lock:
        user = known_user(user_id)
        messages = [
            {
                "requestId": e["requestId"],
                "messageId": e["messageId"],
                "message": e["message"],
                "source": e["source"],
                "timestamp": e["timestamp"],
                "customAggregationUnits": e["customAggregationUnits"],
            }
            for e in user.timeline
            if e["from"] == "bot"
        ]
    return jsonify({"messages": messages})


@bp.get("/users/<user_id>/chat")
def chat(user_id: str) -> Response:
    """Both sides of the conversation plus what the phone shows around it (quick reply, menu)."""
    state = sim().state
    with state.lock:
        user = known_user(user_id)
        menu_id = user.rich_menu_id or (
            state.default_rich_menu_id if user.state == "following" else None
        )
        menu = state.rich_menus.get(menu_id) if menu_id else None
        last = user.timeline[-1] if user.timeline else None
        quick_reply = (
            last["message"].get("quickReply", {}).get("items", [])
            if last is not None and last["from"] == "bot"
            else []
        )
        return jsonify(
            {
                "user": user.summary(),
                "entries": user.timeline,
                "quickReply": quick_reply,
                "richMenu": (
                    {
                        "richMenuId": menu.rich_menu_id,
                        "hasImage": menu.image is not None,
                        **menu.body,
                    }
                    if menu is not None
                    else None
                ),
            }
        )


@bp.get("/content/<message_id>")
def content(message_id: str) -> Response:
    """Lets the phone view show the pictures its user sent, without the bot's token."""
    with sim().state.lock:
        item = sim().state.contents.get(message_id)
    if item is None:
        raise ControlError(404, "unknown content")
    return Response(item[0], mimetype=item[1])


@bp.get("/richmenus/<rich_menu_id>/image")
def rich_menu_image(rich_menu_id: str) -> Response:
    with sim().state.lock:
        menu = sim().state.rich_menus.get(rich_menu_id)
    if menu is None or menu.image is None:
        raise ControlError(404, "no image")
    return Response(menu.image, mimetype=menu.image_type)


# -- logs ----------------------------------------------------------------------------------------


@bp.get("/requests")
def request_log() -> Response:
    """The Messaging API calls the bot made; ``?path=`` keeps those whose path starts with it."""
    prefix = request.args.get("path", "")
    state = sim().state
    with state.lock:
        entries = [e for e in state.request_log if e["path"].startswith(prefix)]
    return jsonify({"requests": entries})


@bp.get("/webhooks")
def webhook_log() -> Response:
    state = sim().state
    with state.lock:
        return jsonify({"webhooks": list(state.webhook_log)})
