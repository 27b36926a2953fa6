"""The Messaging API side: LINE's /v2 endpoints under their real paths.

The api-data host (message content, rich-menu images) is served from the same server, so a bot
needs one base URL for both.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from linebot.v3.messaging.models import (
    BroadcastRequest,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
    ValidateMessageRequest,
)

from simulator import webhooks
from simulator.context import drop_connection, reset_connection, sim
from simulator.state import JST, STATISTICS_PRIVACY_THRESHOLD, RichMenu, SimUser
from simulator.validation import (
    MAX_BODY_BYTES,
    Detail,
    check_messages,
    check_rich_menu,
    check_units,
    check_user_ids,
    error_body,
    sdk_validate,
)

log = logging.getLogger("simulator.api")

bp = Blueprint("line_api", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# Which rate-limit bucket each view counts against, and whether it takes X-Line-Retry-Key.
_RATE_KIND: dict[str, str] = {}
_RETRY_KEY_VIEWS: set[str] = set()

MAX_RICH_MENU_IMAGE_BYTES = 1024 * 1024
MAX_FOLLOWER_IDS_LIMIT = 1000
MAX_WEBHOOK_URL_LENGTH = 500


def _endpoint(kind: str, *, retry_key: bool = False) -> Callable[[F], F]:
    def register(view: F) -> F:
        name = f"{bp.name}.{view.__name__}"
        _RATE_KIND[name] = kind
        if retry_key:
            _RETRY_KEY_VIEWS.add(name)
        return view

    return register


def _error(status: int, message: str, details: list[Detail] | None = None) -> Response:
    response = jsonify(error_body(message, details))
    response.status_code = status
    return response


def _invalid(details: list[Detail]) -> Response:
    return _error(400, f"The request body has {len(details)} error(s)", details)


# -- cross-cutting checks, in the order LINE applies them ------------------------------------------


@bp.before_request
def _before() -> Response | None:
    simulator = sim()
    state = simulator.state
    g.request_id = str(uuid.uuid4())
    g.drop_after = False
    g.fault = None
    g.latency = 0.0

    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return _error(
            401,
            "Authorization header required. "
            "Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
        )
    if not secrets.compare_digest(auth[len("Bearer ") :], simulator.access_token):
        return _error(
            401,
            "Authentication failed. "
            "Confirm that the access token in the authorization header is valid.",
        )

    retry_key = request.headers.get("X-Line-Retry-Key")
    if retry_key is not None:
        if request.endpoint not in _RETRY_KEY_VIEWS:
            return _error(400, "X-Line-Retry-Key is not supported for this endpoint")
        try:
            uuid.UUID(retry_key)
        except ValueError:
            return _error(400, "The retry key must be a UUID")

    # Drawn for every request before the rate limiter, so a tight limit cannot hide a fault.
    fault, latency = state.draw_fault(request.path)
    g.fault, g.latency = fault, latency
    if fault is not None:
        log.info("fault %s injected into %s %s", fault, request.method, request.url_rule)
    if latency:
        time.sleep(latency)
    if fault == "refuse":
        reset_connection()
        return _error(500, "connection refused")
    if fault == "drop":
        request.get_data()
        drop_connection()
        return _error(500, "connection dropped")
    if fault == "error500":
        return _error(500, "Internal server error")
    if fault == "error429":
        return _error(429, "Too many requests")

    kind = _RATE_KIND.get(request.endpoint or "", "default")
    if state.hit_rate_limit(kind):
        return _error(429, "Too many requests")
    if fault == "slow":
        time.sleep(state.faults.slow_seconds)
    elif fault == "acceptThenDrop":
        g.drop_after = True

    if request.method in ("POST", "PUT") and len(request.get_data()) > MAX_BODY_BYTES:
        return _error(413, "Request Entity Too Large")
    return None


@bp.after_request
def _after(response: Response) -> Response:
    state = sim().state
    if g.get("fault") == "acceptThenError500" and 200 <= response.status_code < 300:
        # LINE did the work (delivered, remembered the retry key) but its answer is an error.
        response = _error(500, "Internal server error")
    response.headers["x-line-request-id"] = g.request_id
    body: Any = None
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
    with state.lock:
        state.request_log.append(
            {
                "requestId": g.request_id,
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode("latin-1"),
                "status": response.status_code,
                "timestamp": state.now_ms(),
                "retryKey": request.headers.get("X-Line-Retry-Key"),
                "fault": g.fault,
                "latencySeconds": g.latency,
                "body": body,
            }
        )
    log.info(
        "%s %s -> %s (%s)", request.method, request.url_rule, response.status_code, g.request_id
    )
    if g.drop_after:
        drop_connection()
    return response


def _json_body() -> tuple[Any, Response | None]:
    try:
        return json.loads(request.get_data()), None
    except (ValueError, UnicodeDecodeError):
        return None, _error(
            400, "The request body has 1 error(s)", [{"message": "invalid JSON", "property": ""}]
        )


def _validated(model: Any) -> tuple[dict[str, Any], Response | None]:
    """Parses and validates a send request; on failure the response to return instead."""
    body, failure = _json_body()
    if failure is not None:
        return {}, failure
    details = sdk_validate(model, body)
    if not details:
        details = check_messages(body["messages"], allow_http_media=sim().allow_http_media)
        details += check_units(body.get("customAggregationUnits"))
    if details:
        return {}, _invalid(details)
    result: dict[str, Any] = body
    return result, None


def _already_accepted(push: bool) -> Response | None:
    """409 for a retry key LINE already accepted, naming the original request."""
    retry_key = request.headers.get("X-Line-Retry-Key")
    if retry_key is None:
        return None
    accepted = sim().state.accepted_request(retry_key)
    if accepted is None:
        return None
    body: dict[str, Any] = {"message": "The retry key is already accepted"}
    if push:
        body["sentMessages"] = accepted.response_body.get("sentMessages", [])
    response = jsonify(body)
    response.status_code = 409
    response.headers["x-line-accepted-request-id"] = accepted.request_id
    return response


def _quota_exceeded() -> Response:
    return _error(429, "You have reached your monthly limit.")


def _sent_messages(message_ids: list[str]) -> list[dict[str, str]]:
    """LINE's answer to a push or reply: each message's id and a token to quote it by."""
    return [
        {"id": message_id, "quoteToken": secrets.token_urlsafe(24)} for message_id in message_ids
    ]


def _send(
    recipients: list[str],
    body: dict[str, Any],
    source: str,
    *,
    push: bool,
    ok_status: int = 200,
) -> Response:
    """Delivers to the reachable recipients, all or nothing, and remembers the retry key."""
    state = sim().state
    units: list[str] = body.get("customAggregationUnits") or []
    with state.lock:
        duplicate = _already_accepted(push)
        if duplicate is not None:
            return duplicate
        reachable: list[SimUser] = []
        for uid in dict.fromkeys(recipients):
            user = state.users.get(uid)
            if user is not None and user.reachable:
                reachable.append(user)
        blocking = state.block_some_before_delivery(request.path, reachable)
        if blocking:
            reachable = [user for user in reachable if user.reachable]
        if not state.try_consume_quota(len(reachable)):
            return _quota_exceeded()
        message_ids = state.deliver(reachable, body["messages"], g.request_id, source, units)
        answer: dict[str, Any] = {}
        if push:
            answer["sentMessages"] = _sent_messages(
                message_ids or [state.next_message_id() for _ in body["messages"]]
            )
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None:
            state.remember_retry_key(retry_key, g.request_id, answer)
    if blocking:
        _tell_the_bot_they_blocked(blocking)
    response = jsonify(answer)
    response.status_code = ok_status
    return response


def _tell_the_bot_they_blocked(users: list[SimUser]) -> None:
    """Unfollow webhooks for recipients who blocked before delivery, sent from a thread: the
    bot's sender is still waiting for this answer, and its web app answers the webhook."""
    simulator = sim()
    events = [webhooks.make_event(simulator, user, "unfollow") for user in users]
    threading.Thread(
        target=webhooks.deliver, args=(simulator, events), name="sim-unfollow", daemon=True
    ).start()


# -- sending -----------------------------------------------------------------------------------


@bp.post("/v2/bot/message/reply")
@_endpoint("reply")
def reply() -> Response:
    body, failure = _validated(ReplyMessageRequest)
    if failure is not None:
        return failure
    state = sim().state
    with state.lock:
        user_id = state.use_reply_token(body["replyToken"])
        if user_id is None:
            return _error(400, "Invalid reply token")
        user = state.users.get(user_id)
        message_ids: list[str] = []
        # Replies are free, and a user who blocked the bot since gets nothing.
        if user is not None and user.state != "blocked":
            message_ids = state.deliver([user], body["messages"], g.request_id, "reply", [])
    return jsonify({"sentMessages": _sent_messages(message_ids)})


@bp.post("/v2/bot/message/push")
@_endpoint("push", retry_key=True)
def push() -> Response:
    body, failure = _validated(PushMessageRequest)
    if failure is not None:
        return failure
    details = check_user_ids([body["to"]], "to", indexed=False)
    if details:
        return _invalid(details)
    return _send([body["to"]], body, "push", push=True)


@bp.post("/v2/bot/message/multicast")
@_endpoint("multicast", retry_key=True)
def multicast() -> Response:
    body, failure = _validated(MulticastRequest)
    if failure is not None:
        return failure
    details = check_user_ids(body["to"], "to", indexed=True)
    if details:
        return _invalid(details)
    return _send(body["to"], body, "multicast", push=False)


def _followers() -> list[str]:
    state = sim().state
    with state.lock:
        return [u.user_id for u in state.users.values() if u.reachable]


@bp.post("/v2/bot/message/broadcast")
@_endpoint("broadcast", retry_key=True)
def broadcast() -> Response:
    body, failure = _validated(BroadcastRequest)
    if failure is not None:
        return failure
    return _send(_followers(), body, "broadcast", push=False)


@bp.post("/v2/bot/message/narrowcast")
@_endpoint("narrowcast", retry_key=True)
def narrowcast() -> Response:
    """Narrowcast reaches every follower here: audiences and demographic filters are not modelled.

    LINE processes narrowcasts asynchronously; the simulator finishes at once and reports the
    outcome through the progress endpoint.
    """
    body, failure = _validated(NarrowcastRequest)
    if failure is not None:
        return failure
    state = sim().state
    with state.lock:
        targets = _followers()
        accepted_at = state.iso_now()
        response = _send(targets, body, "narrowcast", push=False, ok_status=202)
        if response.status_code == 202:
            state.narrowcasts[g.request_id] = {
                "phase": "succeeded",
                "successCount": len(targets),
                "failureCount": 0,
                "targetCount": len(targets),
                "acceptedTime": accepted_at,
                "completedTime": state.iso_now(),
            }
    return response


@bp.get("/v2/bot/message/progress/narrowcast")
@_endpoint("default")
def narrowcast_progress() -> Response:
    state = sim().state
    with state.lock:
        progress = state.narrowcasts.get(request.args.get("requestId", ""))
    if progress is None:
        return _error(404, "Not found")
    return jsonify(progress)


@bp.post("/v2/bot/message/validate/<kind>")
@_endpoint("default")
def validate_messages(kind: str) -> Response:
    if kind not in ("reply", "push", "multicast", "narrowcast", "broadcast"):
        return _error(404, "Not found")
    _body, failure = _validated(ValidateMessageRequest)
    return failure or jsonify({})


# -- quota, profile, content -------------------------------------------------------------------


@bp.get("/v2/bot/message/quota")
@_endpoint("default")
def quota() -> Response:
    limit = sim().state.quota_limit
    if limit is None:
        return jsonify({"type": "none"})
    return jsonify({"type": "limited", "value": limit})


@bp.get("/v2/bot/message/quota/consumption")
@_endpoint("default")
def quota_consumption() -> Response:
    return jsonify({"totalUsage": sim().state.quota_usage()})


@bp.get("/v2/bot/profile/<user_id>")
@_endpoint("profile")
def profile(user_id: str) -> Response:
    state = sim().state
    with state.lock:
        user = state.users.get(user_id)
        if user is None or user.state == "blocked":
            return _error(404, "Not found")
        return jsonify(user.profile())


@bp.get("/v2/bot/followers/ids")
@_endpoint("default")
def follower_ids() -> Response:
    """A page of `limit` ids (1–1000, default 300, as LINE) and `next` while more remain."""
    limit_arg, start_arg = request.args.get("limit", "300"), request.args.get("start", "0")
    if not limit_arg.isdigit() or not 1 <= int(limit_arg) <= MAX_FOLLOWER_IDS_LIMIT:
        return _error(400, f"The limit must be between 1 and {MAX_FOLLOWER_IDS_LIMIT}")
    # The continuation token is opaque to the bot; here it is the position of the next page.
    if not start_arg.isdigit() or len(start_arg) > 9:
        return _error(400, "Invalid start")
    limit, start = int(limit_arg), int(start_arg)
    followers = _followers()
    page: dict[str, Any] = {"userIds": followers[start : start + limit]}
    if start + limit < len(followers):
        page["next"] = str(start + limit)
    return jsonify(page)


@bp.get("/v2/bot/info")
@_endpoint("default")
def bot_info() -> Response:
    return jsonify(
        {
            "userId": sim().state.bot_user_id,
            "basicId": "@kairansim",
            "displayName": "Kairan (simulator)",
            "chatMode": "bot",
            "markAsReadMode": "manual",
        }
    )


@bp.get("/v2/bot/message/<message_id>/content")
@_endpoint("content")
def message_content(message_id: str) -> Response:
    state = sim().state
    with state.lock:
        content = state.contents.get(message_id)
    if content is None:
        return _error(404, "Not found")
    data, mimetype = content
    return Response(data, mimetype=mimetype)


@bp.get("/v2/bot/message/<message_id>/content/transcoding")
@_endpoint("content")
def message_content_transcoding(message_id: str) -> Response:
    state = sim().state
    with state.lock:
        known = message_id in state.contents
    return jsonify({"status": "succeeded"}) if known else _error(404, "Not found")


# -- webhook endpoint settings -----------------------------------------------------------------


@bp.put("/v2/bot/channel/webhook/endpoint")
@_endpoint("default")
def set_webhook_endpoint() -> Response:
    body, failure = _json_body()
    if failure is not None:
        return failure
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        return _invalid([{"message": "must be a URL", "property": "endpoint"}])
    state = sim().state
    with state.lock:
        state.webhook.url = endpoint
    return jsonify({})


@bp.get("/v2/bot/channel/webhook/endpoint")
@_endpoint("default")
def get_webhook_endpoint() -> Response:
    state = sim().state
    with state.lock:
        url, active = state.webhook.url, state.webhook.active
    return jsonify({"endpoint": url or "", "active": url is not None and active})


@bp.post("/v2/bot/channel/webhook/test")
@_endpoint("default")
def test_webhook_endpoint() -> Response:
    """Sends a request with no events to `endpoint`, or to the URL set when it is left out."""
    body, failure = _json_body() if request.get_data() else ({}, None)
    if failure is not None:
        return failure
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if endpoint is not None and (
        not isinstance(endpoint, str)
        or not endpoint.startswith(("http://", "https://"))
        or len(endpoint) > MAX_WEBHOOK_URL_LENGTH
    ):
        return _invalid([{"message": "must be a URL", "property": "endpoint"}])
    url = endpoint or sim().state.webhook.url
    if not url:
        return _error(400, "The webhook URL is not set")
    return jsonify(webhooks.test(sim(), url))


# -- rich menus --------------------------------------------------------------------------------


def _rich_menu_details(body: Any) -> list[Detail]:
    """LINE's documented rules first (the SDK's model makes every field optional and any size
    fine), then the model, which checks each area's action."""
    return check_rich_menu(body) or sdk_validate(RichMenuRequest, body)


@bp.post("/v2/bot/richmenu")
@_endpoint("richmenuCreate")
def create_rich_menu() -> Response:
    body, failure = _json_body()
    if failure is not None:
        return failure
    details = _rich_menu_details(body)
    if details:
        return _invalid(details)
    state = sim().state
    rich_menu_id = "richmenu-" + secrets.token_hex(16)
    with state.lock:
        state.rich_menus[rich_menu_id] = RichMenu(rich_menu_id, body)
    return jsonify({"richMenuId": rich_menu_id})


@bp.post("/v2/bot/richmenu/validate")
@_endpoint("default")
def validate_rich_menu() -> Response:
    body, failure = _json_body()
    if failure is not None:
        return failure
    details = _rich_menu_details(body)
    return _invalid(details) if details else jsonify({})


@bp.post("/v2/bot/richmenu/<rich_menu_id>/content")
@_endpoint("default")
def upload_rich_menu_image(rich_menu_id: str) -> Response:
    state = sim().state
    if request.mimetype not in ("image/jpeg", "image/png"):
        return _error(415, "Unsupported Media Type")
    data = request.get_data()
    if len(data) > MAX_RICH_MENU_IMAGE_BYTES:
        return _error(413, "Request Entity Too Large")
    with state.lock:
        menu = state.rich_menus.get(rich_menu_id)
        if menu is None:
            return _error(404, "Not found")
        if menu.image is not None:
            return _error(400, "An image has already been uploaded to the richmenu")
        menu.image, menu.image_type = data, request.mimetype
    return jsonify({})


@bp.get("/v2/bot/richmenu/<rich_menu_id>/content")
@_endpoint("default")
def download_rich_menu_image(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        menu = state.rich_menus.get(rich_menu_id)
    if menu is None or menu.image is None:
        return _error(404, "Not found")
    return Response(menu.image, mimetype=menu.image_type)


@bp.get("/v2/bot/richmenu/list")
@_endpoint("default")
def list_rich_menus() -> Response:
    state = sim().state
    with state.lock:
        menus = [{"richMenuId": m.rich_menu_id, **m.body} for m in state.rich_menus.values()]
    return jsonify({"richmenus": menus})


@bp.get("/v2/bot/richmenu/<rich_menu_id>")
@_endpoint("default")
def get_rich_menu(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        menu = state.rich_menus.get(rich_menu_id)
    if menu is None:
        return _error(404, "Not found")
    return jsonify({"richMenuId": menu.rich_menu_id, **menu.body})


@bp.delete("/v2/bot/richmenu/<rich_menu_id>")
@_endpoint("default")
def delete_rich_menu(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        if state.rich_menus.pop(rich_menu_id, None) is None:
            return _error(404, "Not found")
        if state.default_rich_menu_id == rich_menu_id:
            state.default_rich_menu_id = None
        for user in state.users.values():
            if user.rich_menu_id == rich_menu_id:
                user.rich_menu_id = None
    return jsonify({})


def _linkable(rich_menu_id: str) -> Response | None:
    menu = sim().state.rich_menus.get(rich_menu_id)
    if menu is None:
        return _error(404, "Not found")
    if menu.image is None:
        return _error(400, "must upload richmenu image before applying it to user")
    return None


@bp.post("/v2/bot/user/all/richmenu/<rich_menu_id>")
@_endpoint("default")
def set_default_rich_menu(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        failure = _linkable(rich_menu_id)
        if failure is not None:
            return failure
        state.default_rich_menu_id = rich_menu_id
    return jsonify({})


@bp.get("/v2/bot/user/all/richmenu")
@_endpoint("default")
def get_default_rich_menu() -> Response:
    rich_menu_id = sim().state.default_rich_menu_id
    if rich_menu_id is None:
        return _error(404, "no default richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@bp.delete("/v2/bot/user/all/richmenu")
@_endpoint("default")
def clear_default_rich_menu() -> Response:
    state = sim().state
    with state.lock:
        state.default_rich_menu_id = None
    return jsonify({})


@bp.post("/v2/bot/user/<user_id>/richmenu/<rich_menu_id>")
@_endpoint("default")
def link_rich_menu(user_id: str, rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        failure = _linkable(rich_menu_id)
        if failure is not None:
            return failure
        user = state.users.get(user_id)
        if user is None:
            return _error(400, "The user ID is invalid")
        user.rich_menu_id = rich_menu_id
    return jsonify({})


@bp.post("/v2/bot/richmenu/bulk/link")
@_endpoint("default")
def bulk_link_rich_menu() -> Response:
    body, failure = _json_body()
    if failure is not None:
        return failure
    details = sdk_validate(RichMenuBulkLinkRequest, body)
    if details:
        return _invalid(details)
    state = sim().state
    with state.lock:
        failure = _linkable(body["richMenuId"])
        if failure is not None:
            return failure
        for uid in body["userIds"]:
            user = state.users.get(uid)
            if user is not None:
                user.rich_menu_id = body["richMenuId"]
    response = jsonify({})
    response.status_code = 202
    return response


@bp.get("/v2/bot/user/<user_id>/richmenu")
@_endpoint("default")
def get_linked_rich_menu(user_id: str) -> Response:
    state = sim().state
    with state.lock:
        user = state.users.get(user_id)
        rich_menu_id = user.rich_menu_id if user else None
    if rich_menu_id is None:
        return _error(404, "the user has no richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@bp.delete("/v2/bot/user/<user_id>/richmenu")
@_endpoint("default")
def unlink_rich_menu(user_id: str) -> Response:
    state = sim().state
    with state.lock:
        user = state.users.get(user_id)
        if user is not None:
            user.rich_menu_id = None
    return jsonify({})


# -- customAggregationUnits statistics ---------------------------------------------------------


def _hidden_below_threshold(value: int) -> int | None:
    return value if value >= STATISTICS_PRIVACY_THRESHOLD else None


def _parse_day(value: str | None) -> datetime | None:
    if value is None or len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").replace(tzinfo=JST)
    except ValueError:
        return None


@bp.get("/v2/bot/insight/message/event/aggregation")
@_endpoint("default")
def unit_statistics() -> Response:
    """Per-unit statistics, with LINE's rule that every value under 20 reads as null.

    Impressions count when a simulated user opens the chat (control API ``read``), clicks when
    they open a URI; the date range is validated but the numbers cover the whole run.
    """
    unit = request.args.get("customAggregationUnit", "")
    start, end = _parse_day(request.args.get("from")), _parse_day(request.args.get("to"))
    details = check_units([unit])
    if start is None or end is None or end < start or (end - start).days > 30:
        details.append({"message": "invalid aggregation period", "property": "from/to"})
    if details:
        return _error(400, "Bad request", details)
    state = sim().state
    with state.lock:
        stats = state.unit_stats.get(unit)
        impressions: dict[str, int] = dict(stats["impressions"]) if stats else {}
        clicks: dict[str, dict[str, int]] = (
            {url: dict(users) for url, users in stats["clicks"].items()} if stats else {}
        )
    clickers = {uid for users in clicks.values() for uid in users}
    # Media statistics stay null: the simulator has no audio or video playback.
    media_nulls = dict.fromkeys(
        (
            "mediaPlayed",
            "mediaPlayed25Percent",
            "mediaPlayed50Percent",
            "mediaPlayed75Percent",
            "mediaPlayed100Percent",
            "uniqueMediaPlayed",
            "uniqueMediaPlayed25Percent",
            "uniqueMediaPlayed50Percent",
            "uniqueMediaPlayed75Percent",
            "uniqueMediaPlayed100Percent",
        )
    )
    messages = (
        [
            {
                "seq": 1,
                "impression": _hidden_below_threshold(sum(impressions.values())),
                "uniqueImpression": _hidden_below_threshold(len(impressions)),
                **media_nulls,
            }
        ]
        if stats
        else []
    )
    return jsonify(
        {
            "overview": {
                "uniqueImpression": _hidden_below_threshold(len(impressions)),
                "uniqueClick": _hidden_below_threshold(len(clickers)),
                "uniqueMediaPlayed": None,
                "uniqueMediaPlayed100Percent": None,
            },
            "messages": messages,
            "clicks": [
                {
                    "seq": 1,
                    "url": url,
                    "click": _hidden_below_threshold(sum(users.values())),
                    "uniqueClick": _hidden_below_threshold(len(users)),
                    "uniqueClickOfRequest": _hidden_below_threshold(len(users)),
                }
                for url, users in clicks.items()
            ],
        }
    )


def _units_this_month() -> list[str]:
    state = sim().state
    with state.lock:
        month = state.month_key()
        return sorted(u for u, s in state.unit_stats.items() if s["month"] == month)


@bp.get("/v2/bot/message/aggregation/info")
@_endpoint("default")
def unit_usage() -> Response:
    return jsonify({"numOfCustomAggregationUnits": len(_units_this_month())})


@bp.get("/v2/bot/message/aggregation/list")
@_endpoint("default")
def unit_names() -> Response:
    units = _units_this_month()
    try:
        limit = int(request.args.get("limit", "100"))
        start = int(request.args.get("start", "0"))
    except ValueError:
        return _error(400, "Bad request")
    page = units[start : start + limit]
    body: dict[str, Any] = {"customAggregationUnits": page}
    if start + limit < len(units):
        # The continuation token is opaque to the bot; an offset is enough here.
        body["next"] = str(start + limit)
    return jsonify(body)
