"""LINE's channel settings: the webhook endpoint and its test call, the bot's info, rich menus
(and their images on the api-data host), and insight on customAggregationUnits."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request
from linebot.v3.messaging.models import RichMenuBulkLinkRequest, RichMenuRequest

from simulator import webhooks
from simulator.api import LineBlueprint, error, invalid, json_body
from simulator.context import sim
from simulator.state import JST, STATISTICS_PRIVACY_THRESHOLD, RichMenu
from simulator.validation import Detail, check_rich_menu, check_units, sdk_validate

bp = LineBlueprint("line_channel", __name__)

MAX_RICH_MENU_IMAGE_BYTES = 1024 * 1024
MAX_WEBHOOK_URL_LENGTH = 500


# -- the bot -----------------------------------------------------------------------------------


@bp.get("/v2/bot/info")
@bp.rate_limited("default")
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


# -- webhook endpoint settings -----------------------------------------------------------------


@bp.put("/v2/bot/channel/webhook/endpoint")
@bp.rate_limited("default")
def set_webhook_endpoint() -> Response:
    body, failure = json_body()
    if failure is not None:
        return failure
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        return invalid([{"message": "must be a URL", "property": "endpoint"}])
    state = sim().state
    with state.lock:
        state.webhook.url = endpoint
    return jsonify({})


@bp.get("/v2/bot/channel/webhook/endpoint")
@bp.rate_limited("default")
def get_webhook_endpoint() -> Response:
    state = sim().state
    with state.lock:
        url, active = state.webhook.url, state.webhook.active
    return jsonify({"endpoint": url or "", "active": url is not None and active})


@bp.post("/v2/bot/channel/webhook/test")
@bp.rate_limited("default")
def test_webhook_endpoint() -> Response:
    """Sends a request with no events to `endpoint`, or to the URL set when it is left out."""
    body, failure = json_body() if request.get_data() else ({}, None)
    if failure is not None:
        return failure
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if endpoint is not None and (
        not isinstance(endpoint, str)
        or not endpoint.startswith(("http://", "https://"))
        or len(endpoint) > MAX_WEBHOOK_URL_LENGTH
    ):
        return invalid([{"message": "must be a URL", "property": "endpoint"}])
    url = endpoint or sim().state.webhook.url
    if not url:
        return error(400, "The webhook URL is not set")
    return jsonify(webhooks.test(sim(), url))


# -- rich menus --------------------------------------------------------------------------------


def _rich_menu_details(body: Any) -> list[Detail]:
    """LINE's documented rules first (the SDK's model makes every field optional and any size
    fine), then the model, which checks each area's action."""
    return check_rich_menu(body) or sdk_validate(RichMenuRequest, body)


@bp.post("/v2/bot/richmenu")
@bp.rate_limited("richmenuCreate")
def create_rich_menu() -> Response:
    body, failure = json_body()
    if failure is not None:
        return failure
    details = _rich_menu_details(body)
    if details:
        return invalid(details)
    state = sim().state
    rich_menu_id = "richmenu-" + secrets.token_hex(16)
    with state.lock:
        state.rich_menus[rich_menu_id] = RichMenu(rich_menu_id, body)
    return jsonify({"richMenuId": rich_menu_id})


@bp.post("/v2/bot/richmenu/validate")
@bp.rate_limited("default")
def validate_rich_menu() -> Response:
    body, failure = json_body()
    if failure is not None:
        return failure
    details = _rich_menu_details(body)
    return invalid(details) if details else jsonify({})


@bp.post("/v2/bot/richmenu/<rich_menu_id>/content")
@bp.rate_limited("default")
def upload_rich_menu_image(rich_menu_id: str) -> Response:
    state = sim().state
    if request.mimetype not in ("image/jpeg", "image/png"):
        return error(415, "Unsupported Media Type")
    data = request.get_data()
    if len(data) > MAX_RICH_MENU_IMAGE_BYTES:
        return error(413, "Request Entity Too Large")
    with state.lock:
        menu = state.rich_menus.get(rich_menu_id)
        if menu is None:
            return error(404, "Not found")
        if menu.image is not None:
            return error(400, "An image has already been uploaded to the richmenu")
        menu.image, menu.image_type = data, request.mimetype
    return jsonify({})


@bp.get("/v2/bot/richmenu/<rich_menu_id>/content")
@bp.rate_limited("default")
def download_rich_menu_image(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        menu = state.rich_menus.get(rich_menu_id)
    if menu is None or menu.image is None:
        return error(404, "Not found")
    return Response(menu.image, mimetype=menu.image_type)


@bp.get("/v2/bot/richmenu/list")
@bp.rate_limited("default")
def list_rich_menus() -> Response:
    state = sim().state
    with state.lock:
        menus = [{"richMenuId": m.rich_menu_id, **m.body} for m in state.rich_menus.values()]
    return jsonify({"richmenus": menus})


@bp.get("/v2/bot/richmenu/<rich_menu_id>")
@bp.rate_limited("default")
def get_rich_menu(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        menu = state.rich_menus.get(rich_menu_id)
    if menu is None:
        return error(404, "Not found")
    return jsonify({"richMenuId": menu.rich_menu_id, **menu.body})


@bp.delete("/v2/bot/richmenu/<rich_menu_id>")
@bp.rate_limited("default")
def delete_rich_menu(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        if state.rich_menus.pop(rich_menu_id, None) is None:
            return error(404, "Not found")
        if state.default_rich_menu_id == rich_menu_id:
            state.default_rich_menu_id = None
        for user in state.users.values():
            if user.rich_menu_id == rich_menu_id:
                user.rich_menu_id = None
    return jsonify({})


def _linkable(rich_menu_id: str) -> Response | None:
    menu = sim().state.rich_menus.get(rich_menu_id)
    if menu is None:
        return error(404, "Not found")
    if menu.image is None:
        return error(400, "must upload richmenu image before applying it to user")
    return None


@bp.post("/v2/bot/user/all/richmenu/<rich_menu_id>")
@bp.rate_limited("default")
def set_default_rich_menu(rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        failure = _linkable(rich_menu_id)
        if failure is not None:
            return failure
        state.default_rich_menu_id = rich_menu_id
    return jsonify({})


@bp.get("/v2/bot/user/all/richmenu")
@bp.rate_limited("default")
def get_default_rich_menu() -> Response:
    rich_menu_id = sim().state.default_rich_menu_id
    if rich_menu_id is None:
        return error(404, "no default richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@bp.delete("/v2/bot/user/all/richmenu")
@bp.rate_limited("default")
def clear_default_rich_menu() -> Response:
    state = sim().state
    with state.lock:
        state.default_rich_menu_id = None
    return jsonify({})


@bp.post("/v2/bot/user/<user_id>/richmenu/<rich_menu_id>")
@bp.rate_limited("default")
def link_rich_menu(user_id: str, rich_menu_id: str) -> Response:
    state = sim().state
    with state.lock:
        failure = _linkable(rich_menu_id)
        if failure is not None:
            return failure
        user = state.users.get(user_id)
        if user is None:
            return error(400, "The user ID is invalid")
        user.rich_menu_id = rich_menu_id
    return jsonify({})


@bp.post("/v2/bot/richmenu/bulk/link")
@bp.rate_limited("default")
def bulk_link_rich_menu() -> Response:
    body, failure = json_body()
    if failure is not None:
        return failure
    details = sdk_validate(RichMenuBulkLinkRequest, body)
    if details:
        return invalid(details)
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
@bp.rate_limited("default")
def get_linked_rich_menu(user_id: str) -> Response:
    state = sim().state
    with state.lock:
        user = state.users.get(user_id)
        rich_menu_id = user.rich_menu_id if user else None
    if rich_menu_id is None:
        return error(404, "the user has no richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@bp.delete("/v2/bot/user/<user_id>/richmenu")
@bp.rate_limited("default")
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
@bp.rate_limited("default")
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
        return error(400, "Bad request", details)
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
@bp.rate_limited("default")
def unit_usage() -> Response:
    return jsonify({"numOfCustomAggregationUnits": len(_units_this_month())})


@bp.get("/v2/bot/message/aggregation/list")
@bp.rate_limited("default")
def unit_names() -> Response:
    units = _units_this_month()
    try:
        limit = int(request.args.get("limit", "100"))
        start = int(request.args.get("start", "0"))
    except ValueError:
        return error(400, "Bad request")
    page = units[start : start + limit]
    body: dict[str, Any] = {"customAggregationUnits": page}
    if start + limit < len(units):
        # The continuation token is opaque to the bot; an offset is enough here.
        body["next"] = str(start + limit)
    return jsonify(body)
