"""Webhook events shaped as LINE sends them, and LINE's signature over a body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
from typing import Any

from ulid import ULID

from tests.helpers.settings import TEST_SETTINGS

_message_ids = itertools.count(1)


def line_signature(body: bytes) -> str:
    """X-Line-Signature for `body`, as LINE computes it with the test channel secret."""
    secret = TEST_SETTINGS["LINE_CHANNEL_SECRET"].encode("utf-8")
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


def line_event(kind: str, user_id: str, **fields: Any) -> dict[str, Any]:
    """One webhook event shaped as LINE sends it; `fields` add to or replace its keys."""
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": 1_700_000_000_000,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": str(ULID()),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind in ("follow", "message", "postback"):
        event["replyToken"] = secrets.token_hex(16)
    if kind == "follow":
        event["follow"] = {"isUnblocked": False}
    return {**event, **fields}


def text_event(user_id: str, text: str, **fields: Any) -> dict[str, Any]:
    message = {"type": "text", "id": str(next(_message_ids)), "quoteToken": "q", "text": text}
    return line_event("message", user_id, message=message, **fields)


def postback_event(user_id: str, data: str, **fields: Any) -> dict[str, Any]:
    return line_event("postback", user_id, postback={"data": data}, **fields)
