"""The one way Kairan reaches LINE: line-bot-sdk v3 clients built from configuration.

`LINE_API_BASE_URL` points them at LINE or at the simulator: the Messaging API, its blob host,
and the Insight API (statistics). The SDK's sync client waits forever by default, so every call
passes a timeout.
"""

from __future__ import annotations

import enum
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import urllib3

# line-bot-sdk is imported where LINE is called or a message is built: its models are most of a
# process's start-up (bench/startup.py), and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.insight import Insight
    from linebot.v3.messaging import ApiException, Message, MessagingApi, MessagingApiBlob

log = logging.getLogger(__name__)

# Recipients per multicast call.
MULTICAST_LIMIT = 500
# (connect, read) seconds. LINE answers in well under a second; a read that takes 10 s has failed.
TIMEOUT = (3.05, 10.0)
# Statistics are asked while a person waits for a page: short, and never retried.
INSIGHT_TIMEOUT = (1.0, 2.0)


@dataclass(frozen=True)
class Line:
    api: MessagingApi
    # Content (photos users send) and rich-menu images; api-data.line.me on the real platform.
    blob: MessagingApiBlob
    # Statistics: the Insight API, on the Messaging API's host.
    insight: Insight
    timeout: tuple[float, float] = TIMEOUT


# The most threads of one process that call LINE at once (KAIRAN_WORKER_SENDERS' maximum).
MAX_CONCURRENT_CALLS = 16


def connect(base_url: str, access_token: str, data_base_url: str | None = None) -> Line:
    """Build the clients; nothing is sent until a call is made."""
    from linebot.v3 import insight
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

    api = ApiClient(_configured(Configuration(host=base_url, access_token=access_token)))
    blob = ApiClient(
        _configured(Configuration(host=data_base_url or base_url, access_token=access_token))
    )
    stats = insight.ApiClient(
        _configured(insight.Configuration(host=base_url, access_token=access_token))
    )
    return Line(api=MessagingApi(api), blob=MessagingApiBlob(blob), insight=insight.Insight(stats))


Configured = TypeVar("Configured")


def _configured(configuration: Configured) -> Configured:
    """Our settings on an SDK configuration (each of the SDK's APIs has its own class)."""
    settings: Any = configuration
    # Kairan's delivery engine decides about retries (same retry key, back-off); urllib3 must
    # not resend a request on its own.
    settings.retries = False
    # One connection kept per thread that calls LINE at once (a worker's senders, a web worker's
    # threads), not the SDK's 5 per CPU: on a small machine that would drop and reopen some.
    settings.connection_pool_maxsize = MAX_CONCURRENT_CALLS
    return configuration


class Result(enum.Enum):
    """What a send means for the engine, whatever LINE (or the network) said."""

    accepted = "accepted"  # 200: LINE took the request
    already_accepted = "already_accepted"  # 409: this retry key was accepted before
    rate_limited = "rate_limited"  # 429 "Too many requests": back off and retry
    quota_exhausted = "quota_exhausted"  # 429 monthly limit: nothing more can go this month
    unauthorized = "unauthorized"  # 401/403: the access token is wrong; a person must fix it
    server_error = "server_error"  # 5xx: retry
    unreachable = "unreachable"  # timeout, refused or dropped connection: retry with the same key
    rejected = "rejected"  # other 4xx: the request is invalid and reached nobody


@dataclass(frozen=True)
class SendOutcome:
    result: Result
    # x-line-request-id, or x-line-accepted-request-id for a 409.
    request_id: str | None = None
    # LINE's message (never the request body), for the author and the logs.
    detail: str | None = None


MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."


@dataclass(frozen=True)
class Serialised:
    """A message and its JSON for LINE, made once: every batch of a send carries the same
    message, and turning the SDK's model into JSON again for each call cost more than the call."""

    message: Message
    json: dict[str, Any]


def serialise(message: Message) -> Serialised:
    return Serialised(message, message.to_dict())


# What the SDK's `MessagingApi.multicast_with_http_info` declares for the multicast's answers.
MULTICAST_ANSWERS = {
    "200": "object",
    "400": "ErrorResponse",
    "403": "ErrorResponse",
    "409": "ErrorResponse",
    "429": "ErrorResponse",
}


def multicast(
    line: Line,
    user_ids: list[str],
    messages: Sequence[Message | Serialised],
    retry_key: uuid.UUID,
    unit: str,
) -> SendOutcome:
    """One multicast with its retry key, its outcome classified. Never raises for LINE's or the
    network's failures: the engine records every outcome."""
    from linebot.v3.messaging import ApiException

    # The body is built here and sent by the SDK's ApiClient, as the SDK's multicast method
    # would send it, without the pydantic models around it: validating the request re-checked
    # the 500 ids one by one, and serialising it walked them and the whole card twice, each call.
    # Nothing goes unchecked: `messages` are SDK models, validated when they were built; the ids
    # are LINE's, from the database; `unit` comes from `messages.unit_name`; and the one rule a
    # batch could break is checked here.
    if not 1 <= len(user_ids) <= MULTICAST_LIMIT:
        raise ValueError(f"a multicast takes 1 to {MULTICAST_LIMIT} ids, not {len(user_ids)}")
    body = {
        "messages": [m.json if isinstance(m, Serialised) else m.to_dict() for m in messages],
        "to": user_ids,
        "notificationDisabled": False,
        "customAggregationUnits": [unit],
    }
    try:
        response = _post(
            line,
            "/v2/bot/message/multicast",
            body,
            MULTICAST_ANSWERS,
            {"X-Line-Retry-Key": str(retry_key)},
        )
    except ApiException as error:
        return classify(error)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return SendOutcome(Result.unreachable, detail=type(error).__name__)
    return SendOutcome(Result.accepted, request_id=_header(response.headers, "x-line-request-id"))


def reply(line: Line, reply_token: str, messages: Sequence[Message]) -> None:
    """One reply, sent by the SDK's ApiClient as its reply method would, without validating
    the messages again (they were when they were built). Raises what the SDK raises."""
    body = {
        "replyToken": reply_token,
        "messages": [m.to_dict() for m in messages],
        "notificationDisabled": False,
    }
    # LINE's answer (the sent messages' ids) is not used: it is not turned into a model.
    _post(line, "/v2/bot/message/reply", body, {})


def _post(
    line: Line,
    path: str,
    body: dict[str, Any],
    answers: dict[str, str],
    headers: dict[str, str] | None = None,
) -> Any:
    """POST `body` as JSON through the SDK's ApiClient, with what the SDK's own method for
    `path` sends: its host, the channel's token, LINE's headers."""
    return line.api.api_client.call_api(
        path,
        "POST",
        header_params={
            **(headers or {}),
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        body=body,
        response_types_map=answers,
        auth_settings=["Bearer"],
        _request_timeout=line.timeout,
        _host=line.api.line_base_path,
    )


def classify(error: ApiException) -> SendOutcome:
    status = int(error.status or 0)
    message = _error_message(error)
    if status == 409:
        accepted = _header(error.headers, "x-line-accepted-request-id")
        return SendOutcome(Result.already_accepted, request_id=accepted, detail=message)
    if status == 429:
        if message == MONTHLY_LIMIT_MESSAGE:
            return SendOutcome(Result.quota_exhausted, detail=message)
        return SendOutcome(Result.rate_limited, detail=message)
    if status in (401, 403):
        return SendOutcome(Result.unauthorized, detail=message)
    if status >= 500:
        # LINE may have accepted the request all the same: a later 409 names it by this id.
        return SendOutcome(
            Result.server_error,
            request_id=_header(error.headers, "x-line-request-id"),
            detail=message or f"HTTP {status}",
        )
    return SendOutcome(Result.rejected, detail=message or f"HTTP {status}")


def remaining_quota(line: Line) -> int | None:
    """Messages left this month (quota minus consumption); None when the plan has no limit."""
    quota = line.api.get_message_quota(_request_timeout=line.timeout)
    if quota.type != "limited" or quota.value is None:
        return None
    used = line.api.get_message_quota_consumption(_request_timeout=line.timeout)
    return max(0, int(quota.value) - int(used.total_usage))


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _error_message(error: ApiException) -> str | None:
    """LINE's error JSON carries `message` and `details[]`; keep them short and body-free."""
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    parts = [body["message"]]
    for detail in body.get("details") or []:
        if isinstance(detail, dict):
            parts.append(f"{detail.get('property', '')}: {detail.get('message', '')}")
    return "; ".join(parts)[:500]


def push(line: Line, user_id: str, messages: list[Message], retry_key: uuid.UUID) -> SendOutcome:
    """One push with its retry key, classified like `multicast`."""
    from linebot.v3.messaging import ApiException, PushMessageRequest

    try:
        response = line.api.push_message_with_http_info(
            PushMessageRequest(to=user_id, messages=messages),
            x_line_retry_key=str(retry_key),
            _request_timeout=line.timeout,
        )
    except ApiException as error:
        return classify(error)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return SendOutcome(Result.unreachable, detail=type(error).__name__)
    return SendOutcome(Result.accepted, request_id=_header(response.headers, "x-line-request-id"))


@dataclass(frozen=True)
class UnitStatistics:
    """LINE's figures for the messages sent under one aggregation unit. None: LINE hides a value
    under its privacy threshold (20 users)."""

    unique_impression: int | None
    unique_click: int | None
    impression: int | None


def unit_statistics(line: Line, unit: str, start: date, end: date) -> UnitStatistics | None:
    """LINE's statistics for `unit` between two days (Asia/Tokyo, at most 30 apart), or None when
    LINE did not answer in time or at all: a page shows its own figures without them."""
    from linebot.v3.insight.exceptions import OpenApiException

    try:
        response = line.insight.get_statistics_per_unit(
            custom_aggregation_unit=unit,
            var_from=start.strftime("%Y%m%d"),
            to=end.strftime("%Y%m%d"),
            _request_timeout=INSIGHT_TIMEOUT,
        )
    except (OpenApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        log.warning("LINE statistics for %s failed (%s)", unit, type(error).__name__)
        return None
    overview = response.overview
    impressions = [m.impression for m in response.messages or [] if m.impression is not None]
    return UnitStatistics(
        unique_impression=overview.unique_impression if overview else None,
        unique_click=overview.unique_click if overview else None,
        impression=sum(impressions) if impressions else None,
    )
