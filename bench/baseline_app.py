"""The webhook benchmark's baseline: a Flask app that only checks `X-Line-Signature` (base64
HMAC-SHA256 of the raw body with the channel secret, as LINE signs it) and answers 200.

Run by bench/webhook.py under the same gunicorn settings as Kairan's web process
(`gunicorn --config python:linebot_app.gunicorn_conf baseline_app:app`), so the ratio between
the two is what Kairan's own work per event costs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from flask import Flask, request

app = Flask(__name__)
_SECRET = os.environ["LINE_CHANNEL_SECRET"].encode()


@app.post("/callback")
def callback() -> tuple[str, int]:
    expected = base64.b64encode(hmac.new(_SECRET, request.get_data(), hashlib.sha256).digest())
    given = request.headers.get("X-Line-Signature", "").encode()
    if not hmac.compare_digest(expected, given):
        return "bad signature", 400
    return "OK", 200


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok", 200
