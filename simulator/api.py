"""How LINE handles every Messaging API request, whatever its endpoint: the access token, the
retry key, injected faults and latency, rate limits, body size, the request log and the request id;
LINE's error answers; and the acceptance of a send (retry key, quota, all or nothing).

The endpoints live in `messaging` (sending, quota, profiles, followers, content) and `channel`
(webhook settings, bot info, rich menus, insight), each on a `LineBlueprint`.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request

from simulator import webhooks
from simulator.context import drop_connection, reset_connection, sim
from simulator.state import SimUser
from simulator.validation import MAX_BODY_BYTES, Detail, error_body

__all__ = [
    "LineBlueprint",
    "error",
    "invalid",
    "json_body",
    "send",
    "send_to_group",
    "sent_messages",
]

log = logging.getLogger("simulator.api")

F = TypeVar("F", bound=Callable[..., Any])

# Which rate-limit bucket each view counts against, and whether it takes X-Line-Retry-Key, by
# endpoint name ("blueprint.view") across every LineBlueprint.
_RATE_KIND: dict[str, str] = {}
_RETRY_KEY_VIEWS: set[str] = set()


class LineBlueprint(Blueprint):
    """A blueprint of LINE endpoints: every request to one passes LINE's checks before its view
    and lands in the request log after it."""

    def __init__(self, name: str, import_name: str) -> None:
        super().__init__(name, import_name)
        self.before_request(_before)
        self.after_request(_after)

    def rate_limited(self, kind: str, *, retry_key: bool = False) -> Callable[[F], F]:
        """Counts the view against rate-limit bucket `kind`; `retry_key` lets it take
        X-Line-Retry-Key (elsewhere the header is a 400, as on LINE)."""

        def register(view: F) -> F:
            name = f"{self.name}.{view.__name__}"
            _RATE_KIND[name] = kind
            if retry_key:
                _RETRY_KEY_VIEWS.add(name)
            return view

        return register


def error(status: int, message: str, details: list[Detail] | None = None) -> Response:
    """LINE's error answer: `message`, and the `details` of a 400 naming each bad property."""
    response = jsonify(error_body(message, details))
    response.status_code = status
    return response


def invalid(details: list[Detail]) -> Response:
    return error(400, f"The request body has {len(details)} error(s)", details)


def json_body() -> tuple[Any, Response | None]:
    """The request's JSON, or LINE's 400 for a body that is not JSON."""
    try:
        return json.loads(request.get_data()), None
    except (ValueError, UnicodeDecodeError):
        return None, error(
            400, "The request body has 1 error(s)", [{"message": "invalid JSON", "property": ""}]
        )


# -- cross-cutting checks, in the order LINE applies them ------------------------------------------


def _before() -> Response | None:
    simulator = sim()
    state = simulator.state
    g.request_id = str(uuid.uuid4())
    g.started_ms = state.now_ms()
    g.accepted_ms = None
    g.drop_after = False
    g.fault = None
    g.latency = 0.0

    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return error(
            401,
            "Authorization header required. "
            "Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
        )
    if not secrets.compare_digest(auth[len("Bearer ") :], simulator.access_token):
        return error(
            401,
            "Authentication failed. "
            "Confirm that the access token in the authorization header is valid.",
        )

    retry_key = request.headers.get("X-Line-Retry-Key")
    if retry_key is not None:
        if request.endpoint not in _RETRY_KEY_VIEWS:
            return error(400, "X-Line-Retry-Key is not supported for this endpoint")
        try:
            uuid.UUID(retry_key)
        except ValueError:
            return error(400, "The retry key must be a UUID")

    # Drawn for every request before the rate limiter, so a tight limit cannot hide a fault.
    fault, latency = state.draw_fault(request.path)
    g.fault, g.latency = fault, latency
    if fault is not None:
        log.info("fault %s injected into %s %s", fault, request.method, request.url_rule)
    if latency:
        time.sleep(latency)
    if fault == "refuse":
        reset_connection()
        return error(500, "connection refused")
    if fault == "drop":
        request.get_data()
        drop_connection()
        return error(500, "connection dropped")
    if fault == "error500":
        return error(500, "Internal server error")
    if fault == "error429":
        return error(429, "Too many requests")

    kind = _RATE_KIND.get(request.endpoint or "", "default")
    if state.hit_rate_limit(kind):
        return error(429, "Too many requests")
    if fault == "slow":
        time.sleep(state.faults.slow_seconds)
    elif fault == "acceptThenDrop":
        g.drop_after = True

    if request.method in ("POST", "PUT") and len(request.get_data()) > MAX_BODY_BYTES:
        return error(413, "Request Entity Too Large")
    return None


# -- after the view: the request id and the request log --------------------------------------------


def _after(response: Response) -> Response:
    state = sim().state
    if g.get("fault") == "acceptThenError500" and 200 <= response.status_code < 300:
        # LINE did the work (delivered, remembered the retry key) but its answer is an error.
        response = error(500, "Internal server error")
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
                # When LINE began reading the request, accepted it (a send that delivered,
                # or None), and answered: a census can tell an unfollow before acceptance.
                "startedAt": g.started_ms,
                "acceptedAt": g.accepted_ms,
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


# -- accepting a send: the retry key, the quota, all or nothing ------------------------------------


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
    return error(429, "You have reached your monthly limit.")


def sent_messages(message_ids: list[str]) -> list[dict[str, str]]:
    """LINE's answer to a push or reply: each message's id and a token to quote it by."""
    return [
        {"id": message_id, "quoteToken": secrets.token_urlsafe(24)} for message_id in message_ids
    ]


def send(
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
        g.accepted_ms = state.now_ms()
        answer: dict[str, Any] = {}
        if push:
            answer["sentMessages"] = sent_messages(
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


def send_to_group(group_id: str, body: dict[str, Any]) -> Response:
    """A push to a group chat the bot is in: one copy in the group, and one message of the
    quota per member (LINE counts the recipients), all or nothing, with the retry key."""
    state = sim().state
    with state.lock:
        duplicate = _already_accepted(push=True)
        if duplicate is not None:
            return duplicate
        group = state.groups.get(group_id)
        if group is None or not group.bot_member:
            return error(400, "The property, 'to', in the request body is invalid")
        if not state.try_consume_quota(len(group.member_ids)):
            return _quota_exceeded()
        message_ids = state.post_to_group(group, body["messages"], g.request_id, "push")
        g.accepted_ms = state.now_ms()
        answer = {"sentMessages": sent_messages(message_ids)}
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None:
            state.remember_retry_key(retry_key, g.request_id, answer)
    return jsonify(answer)


def _tell_the_bot_they_blocked(users: list[SimUser]) -> None:
    """Unfollow webhooks for recipients who blocked before delivery, sent from a thread: the
    bot's sender is still waiting for this answer, and its web app answers the webhook."""
    simulator = sim()
    events = [webhooks.make_event(simulator, user, "unfollow") for user in users]
    threading.Thread(
        target=webhooks.deliver, args=(simulator, events), name="sim-unfollow", daemon=True
    ).start()
