"""LINE's messaging endpoints: reply, push, multicast, broadcast and narrowcast (with its
progress), message validation, quota, profiles, follower ids and message content."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from linebot.v3.messaging.models import (
    BroadcastRequest,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ValidateMessageRequest,
)

from simulator.api import (
    LineBlueprint,
    error,
    invalid,
    json_body,
    send,
    send_to_group,
    sent_messages,
)
from simulator.context import sim
from simulator.validation import check_messages, check_units, check_user_ids, sdk_validate

bp = LineBlueprint("line_messaging", __name__)

MAX_FOLLOWER_IDS_LIMIT = 1000


def _validated(model: Any) -> tuple[dict[str, Any], Response | None]:
    """Parses and validates a send request; on failure the response to return instead."""
    body, failure = json_body()
    if failure is not None:
        return {}, failure
    details = sdk_validate(model, body)
    if not details:
        details = check_messages(body["messages"], allow_http_media=sim().allow_http_media)
        details += check_units(body.get("customAggregationUnits"))
    if details:
        return {}, invalid(details)
    result: dict[str, Any] = body
    return result, None


# -- sending -----------------------------------------------------------------------------------


@bp.post("/v2/bot/message/reply")
@bp.rate_limited("reply")
def reply() -> Response:
    body, failure = _validated(ReplyMessageRequest)
    if failure is not None:
        return failure
    state = sim().state
    with state.lock:
        user_id = state.use_reply_token(body["replyToken"])
        if user_id is None:
            return error(400, "Invalid reply token")
        group = state.groups.get(user_id)
        if group is not None:
            # A reply in a group chat reaches the group while the bot is still in it; free too.
            message_ids = state.post_to_group(group, body["messages"], g.request_id, "reply")
            return jsonify({"sentMessages": sent_messages(message_ids)})
        user = state.users.get(user_id)
        message_ids = []
        # Replies are free, and a user who blocked the bot since gets nothing.
        if user is not None and user.state != "blocked":
            message_ids = state.deliver([user], body["messages"], g.request_id, "reply", [])
    return jsonify({"sentMessages": sent_messages(message_ids)})


@bp.post("/v2/bot/message/push")
@bp.rate_limited("push", retry_key=True)
def push() -> Response:
    body, failure = _validated(PushMessageRequest)
    if failure is not None:
        return failure
    if isinstance(body["to"], str) and body["to"].startswith("C"):
        return send_to_group(body["to"], body)
    details = check_user_ids([body["to"]], "to", indexed=False)
    if details:
        return invalid(details)
    return send([body["to"]], body, "push", push=True)


@bp.post("/v2/bot/message/multicast")
@bp.rate_limited("multicast", retry_key=True)
def multicast() -> Response:
    body, failure = _validated(MulticastRequest)
    if failure is not None:
        return failure
    details = check_user_ids(body["to"], "to", indexed=True)
    if details:
        return invalid(details)
    return send(body["to"], body, "multicast", push=False)


def _followers() -> list[str]:
    state = sim().state
    with state.lock:
        return [u.user_id for u in state.users.values() if u.reachable]


@bp.post("/v2/bot/message/broadcast")
@bp.rate_limited("broadcast", retry_key=True)
def broadcast() -> Response:
    body, failure = _validated(BroadcastRequest)
    if failure is not None:
        return failure
    return send(_followers(), body, "broadcast", push=False)


@bp.post("/v2/bot/message/narrowcast")
@bp.rate_limited("narrowcast", retry_key=True)
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
        response = send(targets, body, "narrowcast", push=False, ok_status=202)
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
@bp.rate_limited("default")
def narrowcast_progress() -> Response:
    state = sim().state
    with state.lock:
        progress = state.narrowcasts.get(request.args.get("requestId", ""))
    if progress is None:
        return error(404, "Not found")
    return jsonify(progress)


@bp.post("/v2/bot/message/validate/<kind>")
@bp.rate_limited("default")
def validate_messages(kind: str) -> Response:
    if kind not in ("reply", "push", "multicast", "narrowcast", "broadcast"):
        return error(404, "Not found")
    _body, failure = _validated(ValidateMessageRequest)
    return failure or jsonify({})


# -- quota, profile, content -------------------------------------------------------------------


@bp.get("/v2/bot/message/quota")
@bp.rate_limited("default")
def quota() -> Response:
    limit = sim().state.quota_limit
    if limit is None:
        return jsonify({"type": "none"})
    return jsonify({"type": "limited", "value": limit})


@bp.get("/v2/bot/message/quota/consumption")
@bp.rate_limited("default")
def quota_consumption() -> Response:
    return jsonify({"totalUsage": sim().state.quota_usage()})


@bp.get("/v2/bot/profile/<user_id>")
@bp.rate_limited("profile")
def profile(user_id: str) -> Response:
    state = sim().state
    with state.lock:
        user = state.users.get(user_id)
        if user is None or user.state == "blocked":
            return error(404, "Not found")
        return jsonify(user.profile())


@bp.get("/v2/bot/followers/ids")
@bp.rate_limited("default")
def follower_ids() -> Response:
    """A page of `limit` ids (1–1000, default 300, as LINE) and `next` while more remain."""
    limit_arg, start_arg = request.args.get("limit", "300"), request.args.get("start", "0")
    if not limit_arg.isdigit() or not 1 <= int(limit_arg) <= MAX_FOLLOWER_IDS_LIMIT:
        return error(400, f"The limit must be between 1 and {MAX_FOLLOWER_IDS_LIMIT}")
    # The continuation token is opaque to the bot; here it is the position of the next page.
    if not start_arg.isdigit() or len(start_arg) > 9:
        return error(400, "Invalid start")
    limit, start = int(limit_arg), int(start_arg)
    followers = _followers()
    page: dict[str, Any] = {"userIds": followers[start : start + limit]}
    if start + limit < len(followers):
        page["next"] = str(start + limit)
    return jsonify(page)


@bp.get("/v2/bot/message/<message_id>/content")
@bp.rate_limited("content")
def message_content(message_id: str) -> Response:
    state = sim().state
    with state.lock:
        content = state.contents.get(message_id)
    if content is None:
        return error(404, "Not found")
    data, mimetype = content
    return Response(data, mimetype=mimetype)


@bp.get("/v2/bot/message/<message_id>/content/transcoding")
@bp.rate_limited("content")
def message_content_transcoding(message_id: str) -> Response:
    state = sim().state
    with state.lock:
        known = message_id in state.contents
    return jsonify({"status": "succeeded"}) if known else error(404, "Not found")
