"""Helpers for tests: start a simulator in-process and drive it through its control API."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any, NamedTuple

import urllib3

from simulator import create_app
from simulator.server import make_simulator_server


class ControlAPIError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"simulator control API answered {status}: {body}")
        self.status = status
        self.body = body


class SimulatorClient:
    """A thin, typed wrapper of the /_sim/ control API."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout), retries=False)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One control call; raises ControlAPIError on a non-2xx answer."""
        response = self._http.request(
            method,
            f"{self.base_url}/_sim{path}",
            body=None if body is None else json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"} if body is not None else None,
        )
        data = json.loads(response.data) if response.data else None
        if response.status >= 300:
            raise ControlAPIError(response.status, data)
        return data

    # users and their actions

    def create_user(self, display_name: str = "LINE user", **extra: Any) -> str:
        result: str = self.call("POST", "/users", {"displayName": display_name, **extra})["userId"]
        return result

    def create_users(self, count: int, name_prefix: str = "住民") -> list[str]:
        """`count` users who already follow the bot (no webhooks): set-up at scale."""
        result: list[str] = self.call(
            "POST", "/users/bulk", {"count": count, "namePrefix": name_prefix}
        )["userIds"]
        return result

    def inbox_counts(self, unit: str | None = None) -> dict[str, int]:
        """Messages from the bot per user, for every user; with `unit`, only those sent with
        that `customAggregationUnits` name."""
        query = "" if unit is None else "?" + urllib.parse.urlencode({"unit": unit})
        result: dict[str, int] = self.call("GET", f"/inbox-counts{query}")["counts"]
        return result

    def user(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/users/{user_id}")
        return result

    def follow(self, user_id: str) -> dict[str, Any]:
        return self._act(user_id, "follow", {})

    def block(self, user_id: str) -> dict[str, Any]:
        return self._act(user_id, "block", {})

    def unblock(self, user_id: str) -> dict[str, Any]:
        return self._act(user_id, "unblock", {})

    def text(self, user_id: str, text: str) -> dict[str, Any]:
        return self._act(user_id, "text", {"text": text})

    def image(self, user_id: str, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
        payload = {"base64": base64.b64encode(data).decode("ascii"), "contentType": content_type}
        return self._act(user_id, "image", payload)

    def postback(
        self,
        user_id: str,
        data: str,
        params: dict[str, str] | None = None,
        display_text: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"data": data}
        if params is not None:
            body["params"] = params
        if display_text is not None:
            body["displayText"] = display_text
        return self._act(user_id, "postback", body)

    def pick_datetime(self, user_id: str, data: str, mode: str, value: str) -> dict[str, Any]:
        return self._act(user_id, "datetime", {"data": data, "mode": mode, "value": value})

    def open_uri(self, user_id: str, uri: str) -> dict[str, Any]:
        return self._act(user_id, "uri", {"uri": uri})

    def read(self, user_id: str) -> int:
        """The user opens the chat: unread messages count as impressions."""
        seen: int = self.call("POST", f"/users/{user_id}/read", {})["seen"]
        return seen

    def send_events(self, actions: list[dict[str, Any]]) -> dict[str, Any]:
        """Several actions (``{"userId", "action", ...}``) delivered in one webhook request."""
        result: dict[str, Any] = self.call("POST", "/events", {"events": actions})
        return result

    def redeliver(self, *webhook_event_ids: str) -> dict[str, Any]:
        body = {"webhookEventIds": list(webhook_event_ids)}
        result: dict[str, Any] = self.call("POST", "/redeliver", body)
        return result

    def _act(self, user_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/users/{user_id}/{action}", body)
        return result

    # group chats

    def create_group(self, name: str = "グループ", member_ids: list[str] | None = None) -> str:
        body = {"groupName": name, "memberIds": member_ids or []}
        result: str = self.call("POST", "/groups", body)["groupId"]
        return result

    def group(self, group_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/groups/{group_id}")
        return result

    def group_act(self, group_id: str, action: str, **body: Any) -> dict[str, Any]:
        """invite-bot, remove-bot, join / leave (``user_id=``), text (``user_id=, text=``)."""
        if "user_id" in body:
            body["userId"] = body.pop("user_id")
        result: dict[str, Any] = self.call("POST", f"/groups/{group_id}/{action}", body)
        return result

    def group_inbox(self, group_id: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.call("GET", f"/groups/{group_id}/inbox")["messages"]
        return messages

    # what the platform saw

    def inbox(self, user_id: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.call("GET", f"/users/{user_id}/inbox")["messages"]
        return messages

    def chat(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/users/{user_id}/chat")
        return result

    def requests_log(self, path_prefix: str = "") -> list[dict[str, Any]]:
        query = f"?path={path_prefix}" if path_prefix else ""
        entries: list[dict[str, Any]] = self.call("GET", f"/requests{query}")["requests"]
        return entries

    def webhooks_log(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.call("GET", "/webhooks")["webhooks"]
        return entries

    # knobs

    def set_webhook_url(
        self,
        url: str | None,
        *,
        timeout_seconds: float | None = None,
        max_retries: int | None = None,
        active: bool = True,
    ) -> dict[str, Any]:
        """Where LINE sends webhooks; `active=False` is the console's 「Webhookの利用」 off."""
        body: dict[str, Any] = {"url": url, "active": active}
        if timeout_seconds is not None:
            body["timeoutSeconds"] = timeout_seconds
        if max_retries is not None:
            body["maxRetries"] = max_retries
        result: dict[str, Any] = self.call("POST", "/webhook-url", body)
        return result

    def set_faults(self, **shares: Any) -> dict[str, Any]:
        """E.g. ``set_faults(error500=0.5, seed=7)``; shares: error500, error429, slow, drop,
        acceptThenDrop, acceptThenError500, refuse; and slowSeconds, latency (``{"distribution":
        "uniform", "min", "max"}`` or ``{"distribution": "exponential", "mean", "max"}``),
        blockBeforeDelivery, seed, paths. Replaces every earlier setting."""
        result: dict[str, Any] = self.call("POST", "/faults", shares)
        return result

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults()

    def set_quota(self, limit: int | None, used: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"limit": limit}
        if used is not None:
            body["used"] = used
        result: dict[str, Any] = self.call("POST", "/quota", body)
        return result

    def quota(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/quota")
        return result

    def set_rate_limits(
        self, *, enabled: bool | None = None, limits: dict[str, dict[str, float]] | None = None
    ) -> dict[str, Any]:
        """``limits`` maps an endpoint kind (multicast, push, reply, profile, content,
        narrowcast, broadcast, richmenuCreate, default) to ``{"requests": n, "perSeconds": s}``."""
        body: dict[str, Any] = {"limits": limits or {}}
        if enabled is not None:
            body["enabled"] = enabled
        result: dict[str, Any] = self.call("POST", "/rate-limits", body)
        return result

    def advance_time(self, seconds: float) -> int:
        """Moves the simulated clock forward; returns the new simulated time in ms."""
        now: int = self.call("POST", "/time/advance", {"seconds": seconds})["now"]
        return now

    def reset(self) -> None:
        """Forgets users, inboxes, logs, keys, quota use and settings (the webhook URL stays)."""
        self.call("POST", "/reset", {})


class RunningSimulator(NamedTuple):
    base_url: str
    client: SimulatorClient
    stop: Callable[[], None]


def start_simulator(
    channel_secret: str | None = None,
    access_token: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **app_options: Any,
) -> RunningSimulator:
    """Starts a simulator on a free port in a background thread: ``(base_url, client, stop)``.

    ``app_options`` go to :func:`simulator.create_app` (quota_limit, rate_limits_enabled, clock
    — epoch seconds, to share the test's clock with the bot —, ...).
    """
    app = create_app(channel_secret, access_token, **app_options)
    server = make_simulator_server(host, port, app)
    thread = threading.Thread(target=server.serve_forever, name="line-simulator", daemon=True)
    thread.start()
    base_url = f"http://{host}:{server.server_port}"

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return RunningSimulator(base_url, SimulatorClient(base_url), stop)
