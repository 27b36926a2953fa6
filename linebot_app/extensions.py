"""Flask extensions and shared clients, created in the factory and reached through the app."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_sqlalchemy_lite import SQLAlchemy

from broadcasts.core.clock import Clock
from broadcasts.delivery.line import Line, connect
from linebot_app.config import Settings

db = SQLAlchemy()

LINE_EXTENSION = "kairan.line"
CLOCK_EXTENSION = "kairan.clock"
_CONNECTING = threading.Lock()


def settings() -> Settings:
    """The settings the app was built with."""
    built: Settings = current_app.config["KAIRAN_SETTINGS"]
    return built


def upload_dir() -> Path:
    """Where attachments are stored: KAIRAN_UPLOAD_DIR, else `uploads/` in the instance folder."""
    configured = settings().KAIRAN_UPLOAD_DIR
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def line() -> Line:
    """The app's LINE clients, built from its settings on first use: building them loads
    line-bot-sdk (most of a process's start-up), which a command that never calls LINE need
    not pay."""
    extensions = current_app.extensions
    with _CONNECTING:  # the web's threads and the worker's senders may ask at once
        if LINE_EXTENSION not in extensions:
            configured = settings()
            extensions[LINE_EXTENSION] = connect(
                configured.LINE_API_BASE_URL,
                configured.LINE_CHANNEL_ACCESS_TOKEN.get_secret_value(),
                configured.line_data_base_url,
            )
        client: Line = extensions[LINE_EXTENSION]
    return client


def current_clock() -> Clock:
    """The clock the app was built with: the system's, or one a test sets. Long-running parts
    with threads of their own (the worker, the clock process) take this object itself."""
    built: Clock = current_app.extensions[CLOCK_EXTENSION]
    return built


class AppClock:
    """The current app's clock, for views and commands, which always run inside the app."""

    def now(self) -> datetime:
        return current_clock().now()


clock = AppClock()
