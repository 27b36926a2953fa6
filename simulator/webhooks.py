"""Building, signing and posting webhook requests the way LINE does."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
from typing import Any

import urllib3
from ulid import ULID

from simulator.context import Simulator
from simulator.state import SimGroup, SimUser

log = logging.getLogger("simulator.webhooks")

# LINE gives reply tokens with these events; unfollow, leave and memberLeft carry none.
_EVENTS_WITH_REPLY_TOKEN = frozenset({"follow", "message", "postback", "join", "memberJoined"})


def sign(body: bytes, channel_secret: str) -> str:
    """X-Line-Signature: base64 of HMAC-SHA256 over the raw body, keyed by the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def make_event(
    simulator: Simulator, user: SimUser, event_type: str, **payload: Any
) -> dict[str, Any]:
    """One webhook event from a user, remembered so it can be redelivered with the same id."""
    state = simulator.state
    with state.lock:
        event: dict[str, Any] = {
            "type": event_type,
            "mode": "active",
            "timestamp": state.now_ms(),
            "source": {"type": "user", "userId": user.user_id},
            "webhookEventId": str(ULID()),
            "deliveryContext": {"isRedelivery": False},
        }
        if event_type in _EVENTS_WITH_REPLY_TOKEN:
            event["replyToken"] = state.issue_reply_token(user.user_id)
        event.update(payload)
        state.webhook_events[event["webhookEventId"]] = event
        return event


def make_group_event(
    simulator: Simulator,
    group: SimGroup,
    event_type: str,
    user_id: str | None = None,
    **payload: Any,
) -> dict[str, Any]:
    """One webhook event from a group chat: its source names the group, and the member who
    spoke when a member did (a message); a reply to it goes to the group."""
    state = simulator.state
    with state.lock:
        source: dict[str, Any] = {"type": "group", "groupId": group.group_id}
        if user_id is not None:
            source["userId"] = user_id
        event: dict[str, Any] = {
            "type": event_type,
            "mode": "active",
            "timestamp": state.now_ms(),
            "source": source,
            "webhookEventId": str(ULID()),
            "deliveryContext": {"isRedelivery": False},
        }
        if event_type in _EVENTS_WITH_REPLY_TOKEN:
            event["replyToken"] = state.issue_reply_token(group.group_id)
        event.update(payload)
        state.webhook_events[event["webhookEventId"]] = event
        return event


def deliver(
    simulator: Simulator, events: list[dict[str, Any]], *, redelivery: bool = False
) -> dict[str, Any]:
    """POSTs the events in one webhook request and reports how the bot answered.

    Runs synchronously so a control call returns after the bot answered; it must be called
    without holding the state lock, because the bot calls back (reply, profile) meanwhile.
    Failed attempts (5xx, timeouts, refused connections) are retried a bounded number of times
    as LINE's redelivery does: same webhookEventId, ``isRedelivery: true``.
    """
    state = simulator.state
    with state.lock:
        url = state.webhook.url
        active = state.webhook.active
        timeout = state.webhook.timeout_seconds
        max_retries = state.webhook.max_retries
        destination = state.bot_user_id
    result: dict[str, Any] = {
        "webhookEventIds": [e["webhookEventId"] for e in events],
        "status": None,
        "attempts": [],
    }
    if url is None:
        result["error"] = "no webhook URL set (POST /_sim/webhook-url)"
        return result
    if not active:
        result["error"] = "webhook usage is off (POST /_sim/webhook-url with active: true)"
        return result
    for attempt in range(max_retries + 1):
        is_redelivery = redelivery or attempt > 0
        payload = {"destination": destination, "events": _stamped(events, is_redelivery)}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        status, error = _post(url, body, simulator.channel_secret, timeout)
        result["attempts"].append({"status": status, "error": error, "isRedelivery": is_redelivery})
        with state.lock:
            state.webhook_log.append(
                {
                    "timestamp": state.now_ms(),
                    "status": status,
                    "error": error,
                    "isRedelivery": is_redelivery,
                    "body": payload,
                }
            )
        result["status"] = status
        if error is None and status is not None and status < 500:
            break
    return result


def test(simulator: Simulator, url: str) -> dict[str, Any]:
    """LINE's "Verify" of a webhook URL: one signed request with no events, and how it went, in
    the shape of the Messaging API's answer (`success`, `statusCode`, `reason`, `detail`).

    Sent whether or not webhook usage is on, as the console's 「検証」 button does. Call it
    without holding the state lock: the bot may call back meanwhile."""
    state = simulator.state
    with state.lock:
        timeout = state.webhook.timeout_seconds
        payload = {"destination": state.bot_user_id, "events": []}
        timestamp = state.iso_now()
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    status, error = _post(url, body, simulator.channel_secret, timeout)
    with state.lock:
        state.webhook_log.append(
            {
                "timestamp": state.now_ms(),
                "status": status,
                "error": error,
                "isRedelivery": False,
                "body": payload,
                "test": True,
            }
        )
    if status is None:
        # No answer: the status code is 0, the reason says whether the connection was made.
        reason = "REQUEST_TIMEOUT" if error in _TIMEOUTS else "COULD_NOT_CONNECT"
        return {
            "success": False,
            "timestamp": timestamp,
            "statusCode": 0,
            "reason": reason,
            "detail": error or "",
        }
    ok = 200 <= status < 300
    return {
        "success": ok,
        "timestamp": timestamp,
        "statusCode": status,
        "reason": "OK" if ok else "ERROR_STATUS_CODE",
        "detail": str(status),
    }


# urllib3's names for an answer that did not come in time (the connection was made or not).
_TIMEOUTS = frozenset({"ReadTimeoutError", "ConnectTimeoutError", "TimeoutError"})


def _stamped(events: list[dict[str, Any]], is_redelivery: bool) -> list[dict[str, Any]]:
    stamped = copy.deepcopy(events)
    for event in stamped:
        event["deliveryContext"] = {"isRedelivery": is_redelivery}
    return stamped


def _post(url: str, body: bytes, secret: str, timeout: float) -> tuple[int | None, str | None]:
    try:
        response = urllib3.request(
            "POST",
            url,
            body=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "LineBotWebhook/2.0",
                "X-Line-Signature": sign(body, secret),
            },
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        log.info("webhook delivery failed: %s", type(exc).__name__)
        return None, type(exc).__name__
    log.info("webhook delivered, bot answered %s", response.status)
    return response.status, None
