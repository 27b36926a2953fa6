"""The health verdict as a pure function, and JSON log lines (issue #21, item 5)."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from datetime import UTC, datetime, timedelta

import pytest

from broadcasts.monitoring.figures import verdict
from linebot_app.config import ConfigError, load_settings
from linebot_app.logs import JsonFormatter, RedactTokens
from tests.helpers.settings import TEST_SETTINGS

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ticked_ago", "due_for", "reasons"),
    [
        (timedelta(seconds=30), None, []),
        (timedelta(minutes=5), timedelta(minutes=10), []),
        (None, None, ["the clock is not running (no tick recorded)"]),
        (timedelta(minutes=5, seconds=1), None, ["the clock has not ticked for 5 minutes"]),
        (timedelta(hours=2), None, ["the clock has not ticked for 120 minutes"]),
        (
            timedelta(seconds=10),
            timedelta(minutes=10, seconds=1),
            ["a delivery batch has waited 10 minutes"],
        ),
        (
            timedelta(minutes=7),
            timedelta(minutes=30),
            ["the clock has not ticked for 7 minutes", "a delivery batch has waited 30 minutes"],
        ),
    ],
)
def test_verdict(
    ticked_ago: timedelta | None, due_for: timedelta | None, reasons: list[str]
) -> None:
    ticked = NOW - ticked_ago if ticked_ago is not None else None
    due_since = NOW - due_for if due_for is not None else None
    assert verdict(ticked, due_since, NOW) == reasons


def test_a_json_log_line_is_one_object_with_its_path_tokens_redacted() -> None:
    token = secrets.token_urlsafe(32)
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '"GET /c/%s/confirm" %d', (token, 200), None
    )
    RedactTokens().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == '"GET /c/<redacted>/confirm" 200'
    assert entry["level"] == "INFO"
    assert entry["logger"] == "gunicorn.access"
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert token not in line


def test_a_json_log_line_carries_its_exception() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "kairan", logging.ERROR, __file__, 1, "failed (%s)", ("RuntimeError",), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed (RuntimeError)"
    assert "Traceback" in entry["exception"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("KAIRAN_METRICS_TOKEN", "short"), ("KAIRAN_LOG_FORMAT", "xml")],
)
def test_a_bad_monitoring_setting_is_named_and_never_quoted(setting: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, **TEST_SETTINGS, **{setting: value})
    assert setting in str(refused.value)
    assert value not in str(refused.value)
