"""In-memory state of the simulated LINE platform: users, inboxes, retry keys, quota, clock, faults.

Everything lives behind one re-entrant lock. Callers hold it only for bookkeeping, never while
talking to the bot over HTTP: the bot calls back into the simulator (reply, profile) while the
simulator is still waiting for its webhook answer.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
GROUP_ID_RE = re.compile(r"^C[0-9a-f]{32}$")

# LINE documents a reply token as usable for about one minute after the webhook was sent.
REPLY_TOKEN_TTL_SECONDS = 60.0
# LINE remembers an accepted X-Line-Retry-Key for 24 hours.
RETRY_KEY_TTL_SECONDS = 24 * 3600.0
# LINE's monthly quota and its per-unit statistics are cut at Japanese midnight.
JST = timezone(timedelta(hours=9))
# LINE hides every per-unit statistic below this number, so tiny groups stay anonymous.
STATISTICS_PRIVACY_THRESHOLD = 20

FollowState = Literal["new", "following", "blocked"]
# Shares of requests (each drawn once per request, whatever the rate limiter says):
FAULT_KINDS = (
    "error500",  # 500 before LINE looked at the request: nothing happened
    "error429",  # 429 before LINE looked at the request: nothing happened
    "slow",  # answered after slowSeconds
    "drop",  # the request is read, then the connection closed unanswered: nothing happened
    "acceptThenDrop",  # LINE did the work, then the connection closed unanswered
    "acceptThenError500",  # LINE did the work, then answered 500
    "refuse",  # the connection is reset before the request is read: nothing happened
)
LATENCY_DISTRIBUTIONS = ("uniform", "exponential")


@dataclass(frozen=True)
class RateLimit:
    requests: int
    per_seconds: float


# LINE's published defaults; "default" covers every endpoint without its own entry.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "multicast": RateLimit(200, 1.0),
    "push": RateLimit(2000, 1.0),
    "reply": RateLimit(2000, 1.0),
    "profile": RateLimit(2000, 1.0),
    "content": RateLimit(2000, 1.0),
    "narrowcast": RateLimit(60, 3600.0),
    "broadcast": RateLimit(60, 3600.0),
    "richmenuCreate": RateLimit(100, 3600.0),
    "default": RateLimit(2000, 1.0),
}


@dataclass
class SimUser:
    user_id: str
    display_name: str
    picture_url: str | None = None
    status_message: str | None = None
    language: str = "ja"
    state: FollowState = "new"
    rich_menu_id: str | None = None
    # One list for both sides of the conversation, in order, so the phone view can replay it.
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reachable(self) -> bool:
        """Whether push/multicast/broadcast reach this user (and cost quota)."""
        return self.state == "following"

    def profile(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "userId": self.user_id,
            "displayName": self.display_name,
            "language": self.language,
        }
        if self.picture_url:
            body["pictureUrl"] = self.picture_url
        if self.status_message:
            body["statusMessage"] = self.status_message
        return body

    def summary(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "displayName": self.display_name,
            "state": self.state,
            "richMenuId": self.rich_menu_id,
            "inboxSize": sum(1 for e in self.timeline if e["from"] == "bot"),
        }


@dataclass
class SimGroup:
    """A LINE group chat: its members (users, in the order they joined), whether the bot is in
    it, and every message posted to it, from members and from the bot, in order."""

    group_id: str
    name: str
    member_ids: list[str] = field(default_factory=list)
    bot_member: bool = False
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "groupId": self.group_id,
            "groupName": self.name,
            "memberIds": list(self.member_ids),
            "botMember": self.bot_member,
            "inboxSize": sum(1 for e in self.timeline if e["from"] == "bot"),
        }


@dataclass
class ReplyToken:
    user_id: str
    expires_at: float
    used: bool = False


@dataclass
class AcceptedRequest:
    request_id: str
    expires_at: float
    # Push answers 409 with the sentMessages of the original, as LINE does.
    response_body: dict[str, Any]


@dataclass(frozen=True)
class Latency:
    """Extra time before every affected request is handled, drawn anew for each: uniform
    between `low` and `high` seconds, or exponential with mean `mean` capped at `high`."""

    distribution: str
    low: float = 0.0
    high: float = 0.0
    mean: float = 0.0

    def draw(self, rng: random.Random) -> float:
        if self.distribution == "uniform":
            return rng.uniform(self.low, self.high)
        return min(self.high, rng.expovariate(1 / self.mean)) if self.mean > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        if self.distribution == "uniform":
            return {"distribution": "uniform", "min": self.low, "max": self.high}
        return {"distribution": "exponential", "mean": self.mean, "max": self.high}


@dataclass
class Faults:
    shares: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0.0))
    slow_seconds: float = 1.0
    latency: Latency | None = None
    # Each recipient of an accepted send blocks the bot, with this chance, before delivery.
    block_before_delivery: float = 0.0
    seed: int = 0
    # Only paths starting with one of these prefixes are affected; empty means every /v2 path.
    paths: tuple[str, ...] = ()
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311

    def affects(self, path: str) -> bool:
        return not self.paths or any(path.startswith(p) for p in self.paths)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.shares,
            "slowSeconds": self.slow_seconds,
            "latency": self.latency.to_json() if self.latency else None,
            "blockBeforeDelivery": self.block_before_delivery,
            "seed": self.seed,
            "paths": list(self.paths),
        }


@dataclass
class RichMenu:
    rich_menu_id: str
    body: dict[str, Any]
    image: bytes | None = None
    image_type: str | None = None


@dataclass
class WebhookSettings:
    url: str | None = None
    # The console's 「Webhookの利用」 (use webhook): off, LINE sends no events, though the URL
    # stays set and can still be tested.
    active: bool = True
    timeout_seconds: float = 2.0
    # LINE redelivers failed webhooks only when redelivery is switched on; bounded either way.
    max_retries: int = 2


class SimState:
    """All mutable simulator state. Use ``with state.lock:`` around reads and writes."""

    def __init__(
        self,
        *,
        quota_limit: int | None,
        rate_limits_enabled: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        # Epoch seconds. Tests may pass the bot's own clock, so that both sides agree on time
        # (a retry key's 24 hours, a reply token's minute) while the test moves it.
        self._clock = clock
        self.bot_user_id = "U" + secrets.token_hex(16)
        self._default_quota = quota_limit
        self._default_rate_limits_enabled = rate_limits_enabled
        self.webhook = WebhookSettings()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.users: dict[str, SimUser] = {}
            self.groups: dict[str, SimGroup] = {}
            self.reply_tokens: dict[str, ReplyToken] = {}
            self.retry_keys: dict[str, AcceptedRequest] = {}
            self.quota_limit: int | None = self._default_quota
            self.quota_used: dict[str, int] = {}
            self.rate_limits_enabled = self._default_rate_limits_enabled
            self.rate_limits: dict[str, RateLimit] = dict(DEFAULT_RATE_LIMITS)
            self.rate_windows: dict[str, tuple[int, int]] = {}
            self.faults = Faults()
            self.request_log: list[dict[str, Any]] = []
            self.webhook_log: list[dict[str, Any]] = []
            self.webhook_events: dict[str, dict[str, Any]] = {}
            self.contents: dict[str, tuple[bytes, str]] = {}
            self.rich_menus: dict[str, RichMenu] = {}
            self.default_rich_menu_id: str | None = None
            self.narrowcasts: dict[str, dict[str, Any]] = {}
            self.unit_stats: dict[str, dict[str, Any]] = {}
            # Reset forgets everything but where the bot lives: it is configuration, not state.
            self.webhook = WebhookSettings(url=self.webhook.url, active=self.webhook.active)
            self._message_seq = 0

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated time in epoch seconds: the clock (real time unless one was given) plus the
        offset moved by the control API."""
        return self._clock() + self.clock_offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def month_key(self) -> str:
        return datetime.fromtimestamp(self.now(), JST).strftime("%Y-%m")

    def today_jst(self) -> str:
        return datetime.fromtimestamp(self.now(), JST).strftime("%Y%m%d")

    def iso_now(self) -> str:
        return datetime.fromtimestamp(self.now(), UTC).isoformat().replace("+00:00", "Z")

    # -- ids -----------------------------------------------------------------------------------

    def next_message_id(self) -> str:
        # LINE message ids are numeric strings of about 18 digits.
        self._message_seq += 1
        return str(500_000_000_000_000_000 + self._message_seq)

    # -- users ---------------------------------------------------------------------------------

    def add_user(
        self,
        display_name: str,
        user_id: str | None = None,
        picture_url: str | None = None,
        language: str = "ja",
    ) -> SimUser:
        with self.lock:
            uid = user_id or "U" + secrets.token_hex(16)
            if not USER_ID_RE.match(uid):
                raise ValueError("userId must match U[0-9a-f]{32}")
            if uid in self.users:
                raise ValueError("userId already exists")
            user = SimUser(uid, display_name, picture_url=picture_url, language=language)
            self.users[uid] = user
            return user

    def record_user_action(self, user: SimUser, kind: str, **data: Any) -> None:
        with self.lock:
            user.timeline.append({"from": "user", "kind": kind, "timestamp": self.now_ms(), **data})

    def deliver(
        self,
        users: list[SimUser],
        messages: list[dict[str, Any]],
        request_id: str,
        source: str,
        units: list[str],
    ) -> list[str]:
        """Put messages into each user's inbox; returns the message ids of the last user's copy
        (a push or a reply has one user). A multicast reaches 500 users at a time: work that is
        the same for all of them is done once, outside the loop."""
        with self.lock:
            timestamp = self.now_ms()
            delivered = [self._unit_stats(unit)["delivered"] for unit in units]
            message_ids: list[str] = []
            for user in users:
                message_ids = []
                for message in messages:
                    message_id = self.next_message_id()
                    user.timeline.append(
                        {
                            "from": "bot",
                            "requestId": request_id,
                            "messageId": message_id,
                            "message": message,
                            "source": source,
                            "timestamp": timestamp,
                            "customAggregationUnits": units,
                            "read": False,
                        }
                    )
                    message_ids.append(message_id)
                for users_of_unit in delivered:
                    users_of_unit.add(user.user_id)
            return message_ids

    def post_to_group(
        self, group: SimGroup, messages: list[dict[str, Any]], request_id: str, source: str
    ) -> list[str]:
        """The bot's messages into a group chat it is in (nothing when it is not): one copy
        that every member sees."""
        with self.lock:
            if not group.bot_member:
                return []
            message_ids: list[str] = []
            for message in messages:
                message_id = self.next_message_id()
                group.timeline.append(
                    {
                        "from": "bot",
                        "requestId": request_id,
                        "messageId": message_id,
                        "message": message,
                        "source": source,
                        "timestamp": self.now_ms(),
                    }
                )
                message_ids.append(message_id)
            return message_ids

    def _unit_stats(self, unit: str) -> dict[str, Any]:
        stats = self.unit_stats.get(unit)
        if stats is None:
            stats = self.unit_stats[unit] = {
                "month": self.month_key(),
                "delivered": set(),
                "impressions": {},
                "clicks": {},
            }
        return stats

    # -- reply tokens --------------------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        with self.lock:
            token = secrets.token_hex(16)
            self.reply_tokens[token] = ReplyToken(user_id, self.now() + REPLY_TOKEN_TTL_SECONDS)
            return token

    def use_reply_token(self, token: str) -> str | None:
        """Consumes a reply token; returns its user id, or None if unknown, used or expired."""
        with self.lock:
            entry = self.reply_tokens.get(token)
            if entry is None or entry.used or entry.expires_at < self.now():
                return None
            entry.used = True
            return entry.user_id

    # -- retry keys ----------------------------------------------------------------------------

    def accepted_request(self, retry_key: str) -> AcceptedRequest | None:
        with self.lock:
            entry = self.retry_keys.get(retry_key)
            if entry is None:
                return None
            if entry.expires_at <= self.now():
                del self.retry_keys[retry_key]
                return None
            return entry

    def remember_retry_key(self, retry_key: str, request_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.retry_keys[retry_key] = AcceptedRequest(
                request_id, self.now() + RETRY_KEY_TTL_SECONDS, body
            )

    # -- quota ---------------------------------------------------------------------------------

    def quota_usage(self) -> int:
        with self.lock:
            return self.quota_used.get(self.month_key(), 0)

    def try_consume_quota(self, count: int) -> bool:
        """All or nothing: a request that does not fit in the remaining quota uses none of it."""
        with self.lock:
            used = self.quota_usage()
            if self.quota_limit is not None and used + count > self.quota_limit:
                return False
            self.quota_used[self.month_key()] = used + count
            return True

    # -- rate limits ---------------------------------------------------------------------------

    def hit_rate_limit(self, kind: str) -> bool:
        """Counts one request of this kind; True when it goes over the limit of its window.

        Fixed windows on the simulated clock: deterministic, and tests can step past a window by
        advancing time instead of sleeping.
        """
        with self.lock:
            if not self.rate_limits_enabled:
                return False
            limit = self.rate_limits.get(kind) or self.rate_limits["default"]
            window = int(self.now() // limit.per_seconds)
            start, count = self.rate_windows.get(kind, (window, 0))
            if start != window:
                count = 0
            self.rate_windows[kind] = (window, count + 1)
            return count + 1 > limit.requests

    # -- faults --------------------------------------------------------------------------------

    def draw_fault(self, path: str) -> tuple[str | None, float]:
        """Which fault, if any, hits this request, and the latency added to it: drawn once per
        request, before the rate limiter, so a tight limit does not hide the faults."""
        with self.lock:
            faults = self.faults
            if not faults.affects(path):
                return None, 0.0
            latency = faults.latency.draw(faults.rng) if faults.latency else 0.0
            if not any(share > 0 for share in faults.shares.values()):
                return None, latency
            draw = faults.rng.random()
            threshold = 0.0
            for kind in FAULT_KINDS:
                threshold += faults.shares[kind]
                if draw < threshold:
                    return kind, latency
            return None, latency

    def block_some_before_delivery(self, path: str, users: list[SimUser]) -> list[SimUser]:
        """Recipients who block the bot between LINE's accepting a send and its delivery (each
        with the configured chance); they get nothing and cost nothing, as any blocked user."""
        with self.lock:
            faults = self.faults
            if faults.block_before_delivery <= 0 or not faults.affects(path):
                return []
            blocking = [u for u in users if faults.rng.random() < faults.block_before_delivery]
            for user in blocking:
                user.state = "blocked"
                self.record_user_action(user, "block")
            return blocking

    # -- statistics ----------------------------------------------------------------------------

    def record_impressions(self, user: SimUser) -> int:
        """The user opened the chat: every unread message counts as seen."""
        with self.lock:
            seen = 0
            for entry in user.timeline:
                if entry["from"] != "bot" or entry["read"]:
                    continue
                entry["read"] = True
                seen += 1
                for unit in entry["customAggregationUnits"]:
                    stats = self.unit_stats.get(unit)
                    if stats is not None:
                        stats["impressions"][user.user_id] = (
                            stats["impressions"].get(user.user_id, 0) + 1
                        )
            return seen

    def record_click(self, user: SimUser, uri: str, units: list[str]) -> None:
        with self.lock:
            for unit in units:
                stats = self.unit_stats.get(unit)
                if stats is not None:
                    per_url = stats["clicks"].setdefault(uri, {})
                    per_url[user.user_id] = per_url.get(user.user_id, 0) + 1
