"""The simulator's own tests' side of LINE: the channel, plain HTTP to the /v2 API, a tiny bot
that verifies signatures with line-bot-sdk, and message bodies."""

from __future__ import annotations

import json
import threading
from typing import Any

import urllib3
from flask import Flask, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import FollowEvent, MessageEvent, TextMessageContent
from werkzeug.serving import make_server

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
GREETING = "友だち追加ありがとうございます！回覧板をLINEでお届けします。"


class RawLine:
    """Plain HTTP to the simulator's /v2 API, for bodies the SDK would refuse to build."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(total=10), retries=False)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> urllib3.BaseHTTPResponse:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        return self.http.request(method, self.base_url + path, body=data, headers=all_headers)


class TinyBot:
    """A minimal bot: verifies signatures with line-bot-sdk, greets followers, echoes texts."""

    def __init__(self, simulator_url: str, secret: str) -> None:
        self.parser = WebhookParser(secret)
        self.requests: list[dict[str, Any]] = []
        self.events: list[Any] = []
        self.rejected = 0
        self.fail_next = 0
        self.reply_results: list[str] = []
        self._config = Configuration(host=simulator_url, access_token=TOKEN)
        app = Flask("tiny_bot")
        app.add_url_rule("/callback", view_func=self._callback, methods=["POST"])
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _callback(self) -> tuple[str, int]:
        body = request.get_data(as_text=True)
        try:
            events = self.parser.parse(body, request.headers.get("X-Line-Signature", ""))
        except InvalidSignatureError:
            self.rejected += 1
            return "invalid signature", 400
        self.requests.append(json.loads(body))
        if self.fail_next:
            self.fail_next -= 1
            return "temporarily broken", 500
        self.events.extend(events)
        with ApiClient(self._config) as api_client:
            api = MessagingApi(api_client)
            for event in events:
                text = None
                if isinstance(event, FollowEvent):
                    text = GREETING
                elif isinstance(event, MessageEvent) and isinstance(
                    event.message, TextMessageContent
                ):
                    text = f"受け付けました: {event.message.text}"
                if text is not None:
                    api.reply_message(
                        ReplyMessageRequest(
                            reply_token=event.reply_token, messages=[TextMessage(text=text)]
                        ),
                        _request_timeout=5,
                    )
                    self.reply_results.append(text)
        return "OK", 200

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def bubble(body_text: str = "回覧") -> dict[str, Any]:
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "text", "text": body_text, "wrap": True}],
        },
    }
