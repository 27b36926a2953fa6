"""`/metrics` from gunicorn as the Procfile starts it (issue #21, item 5): webhook events are
counted by whichever worker serves them and a scrape sums every worker's counts
(prometheus_client's multiprocess mode, set up by gunicorn_conf.py); with
KAIRAN_LOG_FORMAT=json every log line is one JSON object naming no token and no message text."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from tests.helpers.metrics import METRICS_TOKEN, parse, sample
from tests.helpers.processes import environment, free_port, settings_for, start_web, wait_for
from tests.helpers.waiting import wait_until
from tests.helpers.webhooks import line_signature, text_event

BODY = "秘密の本文です"
USER = "U" + "ab" * 16


def post(url: str, events: list[dict[str, object]]) -> int:
    raw = json.dumps({"events": events}).encode()
    headers = {"Content-Type": "application/json", "X-Line-Signature": line_signature(raw)}
    asked = urllib.request.Request(url, data=raw, headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(asked, timeout=10) as response:  # noqa: S310 - loopback
        return int(response.status)


def scrape(base: str) -> str:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    asked = urllib.request.Request(f"{base}/metrics", headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(asked, timeout=10) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def test_metrics_sum_every_web_workers_webhooks_and_json_logs_name_no_secret(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    env = environment(
        tmp_path,
        PORT=str(port),
        WEB_CONCURRENCY="3",
        KAIRAN_METRICS_TOKEN=METRICS_TOKEN,
        KAIRAN_LOG_FORMAT="json",
        **settings_for(tmp_path),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(["kairan", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=60)
    log = tmp_path / "web.log"
    with log.open("w") as output:
        started.append(start_web(tmp_path, env, text=True, stdout=output, stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{port}"
    assert wait_for(f"{base}/healthz") == 200

    events = 12
    for _ in range(events):
        # Unregistered: the chat answers (its reply to LINE fails, logged), the event is handled.
        assert post(f"{base}/callback", [text_event(USER, BODY)]) == 200
    samples = parse(scrape(base))
    handled = sample(samples, "kairan_webhook_events_total", type="message", outcome="handled")
    assert handled == events
    assert sample(samples, "kairan_webhook_request_seconds_count") == events
    assert sample(samples, "kairan_deliveries_pending") == 0

    wait_until(lambda: log.read_text().count("/metrics") >= 1, "the scrape in the access log")
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    for line in lines:
        entry = json.loads(line)  # every line, gunicorn's own included
        assert {"time", "level", "logger", "message"} <= set(entry)
    text = log.read_text()
    assert METRICS_TOKEN not in text
    assert BODY not in text
    assert json.dumps(BODY)[1:-1] not in text  # nor escaped
    assert USER not in text
