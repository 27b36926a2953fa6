"""Logging, set up in one place.

Log records carry ids (circular, batch, webhook event) and never message text, names or LINE user
ids. Nor tokens: some routes carry a bearer token in their path (a login link, a detail page's
link, a print link, an attachment's name), and every record that names such a path, gunicorn's
access log included, shows the route with the token replaced.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"

# The routes whose next path segment is a token (tests/unit/linebot_app/test_logs.py checks the
# app's routes).
TOKEN_IN_PATH = re.compile(r"(/(?:dashboard/login|c/public|c|print/link|files)/)[^/?#\s\"']+")
REDACTED = "<redacted>"


def redact_tokens(text: str) -> str:
    return TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)


class RedactTokens(logging.Filter):
    """Replaces the tokens of paths a record names (the message as it will be written)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Arguments that do not fit the message: the handler reports that when it writes
            # the record; a filter must not raise into the code that logged.
            return True
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line (KAIRAN_LOG_FORMAT=json) with the text format's fields: the
    message as the filters left it, so the same rules hold (ids only, tokens redacted)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Idempotent: the factory may run more than once in a process (tests, CLI)."""
    root = logging.getLogger()
    if any(getattr(handler, "_kairan", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    # Flask's own report of a failed request names its path.
    handler.addFilter(RedactTokens())
    handler._kairan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic reports its connection details on every schema check; only problems matter.
    logging.getLogger("alembic").setLevel(logging.WARNING)
