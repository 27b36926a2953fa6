"""Tokens in paths never reach a log (issue #18, item 15)."""

from __future__ import annotations

import logging
import secrets

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from linebot_app import create_app
from linebot_app.logs import RedactTokens, redact_tokens
from tests.helpers.settings import make_settings

# Arguments of routes that name public things, not secrets; `_address` is the dashboard's
# answer to an address no route knows (logged as any 404 was before it).
NOT_SECRET = {"code", "filename", "_address"}


def test_every_route_with_a_token_in_its_path_is_redacted() -> None:
    app = create_app(make_settings())
    checked = 0
    for rule in app.url_map.iter_rules():
        secret = [
            name
            for name, converter in rule._converters.items()
            if not isinstance(converter, IntegerConverter) and name not in NOT_SECRET
        ]
        if not secret:
            continue
        token = secrets.token_urlsafe(32)
        values = {name: token if name in secret else "1" for name in rule.arguments}
        with app.test_request_context():
            path = app.url_for(rule.endpoint, **values)
        assert token not in redact_tokens(path), rule.rule
        assert "<redacted>" in redact_tokens(path), rule.rule
        checked += 1
    assert checked >= 6


@given(
    st.sampled_from(["/dashboard/login/", "/c/", "/c/public/", "/print/link/", "/files/", "//c/"]),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%", min_size=1
    ),
    st.sampled_from(["", "/confirm", "?lang=en", " HTTP/1.1"]),
)
def test_no_token_survives_in_a_token_route(prefix: str, token: str, rest: str) -> None:
    line = redact_tokens(f'127.0.0.1 "GET {prefix}{token}{rest}" 200')
    assert line == f'127.0.0.1 "GET {prefix}<redacted>{rest}" 200'


def test_other_paths_are_left_as_they_are() -> None:
    for path in ("/dashboard/login", "/dashboard/circulars/12/stats.csv", "/healthz", "/callback"):
        assert redact_tokens(path) == path


def test_a_record_naming_a_token_path_is_written_without_the_token() -> None:
    token = secrets.token_urlsafe(32)
    record = logging.LogRecord(
        "flask.app",
        logging.ERROR,
        __file__,
        1,
        "Exception on %s [%s]",
        (f"/c/{token}", "GET"),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == "Exception on /c/<redacted> [GET]"


def test_a_record_that_cannot_be_formatted_passes_the_filter_unchanged() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactTokens().filter(record)
    assert record.args == ("many",)
