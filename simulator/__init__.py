"""A LINE platform simulator for Kairan: the Messaging API, the LINE app, and a control API.

The bot reaches it only through its configured base URL; tests, scripts and the demo drive it
through ``/_sim/``; people use it through the phone pages at ``/``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask, Response, jsonify, request

from simulator.context import EXTENSION_KEY, Simulator
from simulator.state import SimState

__all__ = ["SimulatorConfigError", "create_app", "serve"]

DEFAULT_QUOTA_LIMIT: int | None = 200_000


class SimulatorConfigError(RuntimeError):
    """The simulator cannot start; the message is one line meant for the person starting it."""


def create_app(
    channel_secret: str | None = None,
    access_token: str | None = None,
    *,
    quota_limit: int | None = DEFAULT_QUOTA_LIMIT,
    rate_limits_enabled: bool = True,
    webhook_url: str | None = None,
    allow_http_media: bool = False,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """Builds the simulator app.

    Secret and token default to ``LINE_CHANNEL_SECRET`` and ``LINE_CHANNEL_ACCESS_TOKEN``, read
    from the environment or a ``.env`` in the working directory, so one file drives both the bot
    and the simulator. ``quota_limit=None`` means unlimited (as LINE's municipal plan). ``clock``
    (epoch seconds) lets a test share one clock between the bot and the simulator.
    """
    if channel_secret is None or access_token is None:
        load_dotenv(Path.cwd() / ".env", override=False)
    secret = channel_secret or os.environ.get("LINE_CHANNEL_SECRET")
    token = access_token or os.environ.get("LINE_CHANNEL_ACCESS_TOKEN")
    missing = [
        name
        for name, value in (("LINE_CHANNEL_SECRET", secret), ("LINE_CHANNEL_ACCESS_TOKEN", token))
        if not value
    ]
    if secret is None or token is None or missing:
        raise SimulatorConfigError(
            f"LINE simulator: set {' and '.join(missing)} (environment or .env) to start"
        )

    from simulator import channel, control, groups, knobs, messaging, phones

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    state = SimState(quota_limit=quota_limit, rate_limits_enabled=rate_limits_enabled, clock=clock)
    state.webhook.url = webhook_url
    app.extensions[EXTENSION_KEY] = Simulator(secret, token, state, allow_http_media)
    app.register_blueprint(messaging.bp)
    app.register_blueprint(channel.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(knobs.bp)
    app.register_blueprint(groups.bp)
    app.register_blueprint(groups.control)
    app.register_blueprint(phones.bp)

    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Not found"}), 404

    @app.errorhandler(405)
    def not_allowed(_error: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Method not allowed"}), 405

    @app.after_request
    def request_id(response: Response) -> Response:
        # The API blueprints set their own id (and log it); this covers 404s and 405s under /v2.
        if request.path.startswith("/v2/") and "x-line-request-id" not in response.headers:
            response.headers["x-line-request-id"] = str(uuid.uuid4())
        return response

    return app


def serve(host: str = "127.0.0.1", port: int = 8790, app: Flask | None = None) -> None:
    """Runs the simulator until interrupted (werkzeug's threaded server, needed for drop faults)."""
    from simulator.server import make_simulator_server

    server = make_simulator_server(host, port, app or create_app())
    try:
        server.serve_forever()
    finally:
        server.server_close()
