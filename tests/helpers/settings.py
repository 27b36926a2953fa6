"""The settings every test app and process starts from, and where the repository lies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linebot_app.config import Settings

TEST_SETTINGS: dict[str, Any] = {
    "LINE_CHANNEL_SECRET": "test-channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "KAIRAN_PUBLIC_URL": "https://kairan.test",
    "KAIRAN_ADD_FRIEND_URL": "https://line.me/R/ti/p/@kairan-test",
    # Port 9 (discard) on loopback: nothing answers, and nothing leaves the machine. Apps that
    # talk to LINE get the simulator's URL instead (see `_session_app` in tests/conftest.py).
    "LINE_API_BASE_URL": "http://127.0.0.1:9",
}
REPO = Path(__file__).resolve().parents[2]
SAMPLE_AREAS = REPO / "docs" / "sample-areas.csv"


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: never read from a developer's `.env`."""
    return Settings(_env_file=None, **{**TEST_SETTINGS, **overrides})
