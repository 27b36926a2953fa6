"""The web process's logs name routes, never the tokens in their paths (issue #18, item 15): a
login link, a detail page's token (valid 90 days, it can confirm for the resident) and a print
link are bearer tokens, and gunicorn's access log records every path."""

from __future__ import annotations

import secrets
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers.processes import environment, free_port, settings_for, start_web, wait_for
from tests.helpers.waiting import wait_until

PATHS = {
    "/dashboard/login/{}": "/dashboard/login/<redacted>",
    "/c/{}": "/c/<redacted>",
    "/c/public/{}": "/c/public/<redacted>",
    "/print/link/{}": "/print/link/<redacted>",
    "/files/{}": "/files/<redacted>",
    "//c/{}": "/c/<redacted>",
}


def request(url: str, method: str = "GET") -> None:
    body = b"" if method == "POST" else None
    asked = urllib.request.Request(url, method=method, data=body)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(asked, timeout=10):  # noqa: S310 - loopback
            pass
    except urllib.error.HTTPError:
        pass  # unknown tokens answer 404 or 400: the log line is what matters


def test_the_access_log_shows_routes_with_their_tokens_redacted(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    env = environment(tmp_path, PORT=str(port), **settings_for(tmp_path))
    subprocess.run(["kairan", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=60)
    log = tmp_path / "web.log"
    with log.open("w") as output:
        started.append(start_web(tmp_path, env, text=True, stdout=output, stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{port}"
    assert wait_for(f"{base}/healthz") == 200
    tokens = []
    for path in PATHS:
        token = secrets.token_urlsafe(32)
        tokens.append(token)
        request(base + path.format(token))
    confirm_token = secrets.token_urlsafe(32)
    tokens.append(confirm_token)
    request(f"{base}/c/{confirm_token}/confirm", method="POST")

    # Every request has its line (gunicorn writes it as the response goes out).
    wait_until(
        lambda: log.read_text().count('"GET ') > len(PATHS) and '"POST ' in log.read_text(),
        lambda: f"every request in the access log:\n{log.read_text()}",
    )
    text = log.read_text()
    for route in [*PATHS.values(), "/c/<redacted>/confirm"]:
        assert route in text, f"{route} missing from the access log:\n{text}"
    assert '"GET /healthz"' in text
    for token in tokens:
        assert token not in text
