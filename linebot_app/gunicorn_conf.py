"""gunicorn settings for the `web` process (`gunicorn -c python:linebot_app.gunicorn_conf`).

The master checks the settings and the schema before any worker starts, so a bad deployment
stops with one clear line instead of workers failing to boot in a loop.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.arbiter import Arbiter
from gunicorn.config import Config
from gunicorn.glogging import Logger

from linebot_app.logs import JsonFormatter, RedactTokens

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads in each worker: after its commit a webhook waits for LINE to take its reply, tens of
# milliseconds across the internet, and a single-threaded worker would serve nobody meanwhile.
# (docs/BENCHMARKS.md measures it.) Override with GUNICORN_CMD_ARGS="--threads N".
worker_class = "gthread"
threads = 8
# LINE gives up on a webhook after 2 s; a request still running after 30 s is stuck.
timeout = 30
accesslog = "-"
# Paths only: query strings may carry signed tokens. Tokens in paths are redacted (RedactingLogger).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# No control socket: it lives at one fixed path per user, so two instances would collide.
control_socket_disable = True


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger, with the tokens in paths replaced in both of its logs (its error log
    names the path of a request it failed to handle)."""

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactTokens())

    def setup(self, cfg: Config) -> None:
        """KAIRAN_LOG_FORMAT=json: gunicorn's lines as JSON too, as the app's (logs.py)."""
        super().setup(cfg)
        if os.environ.get("KAIRAN_LOG_FORMAT") == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())


logger_class = RedactingLogger


# Set by `on_starting` when it made the metrics directory itself, which `on_exit` removes.
OWN_METRICS_DIR = "KAIRAN_OWN_METRICS_DIR"


def on_starting(server: Arbiter) -> None:
    prepare_metrics_dir()
    from linebot_app.startup import StartupError, check_startup

    try:
        check_startup()
    except StartupError as error:
        print(error, file=sys.stderr)  # noqa: T201 - the one line a person reads
        sys.exit(2)
    # Loaded here, once, for the workers forked from this process: the app loads line-bot-sdk
    # only where LINE is called (commands need not pay for it), but the web must
    # not pay that on a first webhook, which LINE abandons after 2 s.
    import linebot_app.chat.routes  # noqa: F401


def post_worker_init(worker: Any) -> None:
    """The worker has loaded the app: what importing and building it made lives as long as the
    worker. Frozen, a full garbage collection no longer walks those objects (~300k): on the
    city-wide stats page at 100k residents the collections made p95 246 ms against p50 79 ms;
    frozen, p95 94 ms, p50 the same (bench data, same process, interleaved)."""
    gc.freeze()


def child_exit(server: Arbiter, worker: Any) -> None:
    """A worker that died or was replaced: its counters stay (they are totals), its live
    gauges go (prometheus_client's bookkeeping; Kairan keeps none today)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def prepare_metrics_dir() -> None:
    """Webhook metrics are counted by whichever worker serves the request: prometheus_client's
    multiprocess mode keeps each worker's counts in a file of PROMETHEUS_MULTIPROC_DIR and sums
    them at a scrape (linebot_app/metrics.py). Set here, in the master, before it or a worker
    imports prometheus_client (which chooses its mode at import); the workers forked from it
    inherit it. An operator's own directory is used as given, emptied of a previous run's
    counts (prometheus_client: wipe before start); otherwise a fresh one, removed on exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kairan-metrics-")
        os.environ[OWN_METRICS_DIR] = "1"
        return
    metrics_dir = Path(given)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def on_exit(server: Arbiter) -> None:
    if os.environ.pop(OWN_METRICS_DIR, None):
        shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
