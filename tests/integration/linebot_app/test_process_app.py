"""The app the worker and the clock run in (`create_process_app`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from linebot_app import create_database_app, create_process_app
from linebot_app.config import load_database_settings
from tests.helpers.settings import make_settings


def test_building_a_process_app_starts_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker and the clock block SIGTERM once their app is built (stop_on_signal); a thread
    started before then does not block it, and a stop sent while it lives kills the process.
    asgiref's thread for Flask's async teardown did, once, as the app tuned its engine."""
    started: list[Any] = []
    start = threading._start_new_thread  # type: ignore[attr-defined]
    monkeypatch.setattr(
        threading, "_start_new_thread", lambda *args: started.append(args) or start(*args)
    )
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    create_process_app(make_settings(DATABASE_URL=url))
    monkeypatch.setenv("DATABASE_URL", url)
    create_database_app(load_database_settings())
    assert started == []
