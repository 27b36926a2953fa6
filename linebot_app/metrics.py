"""`GET /metrics`: Prometheus's text format, for a scraper holding KAIRAN_METRICS_TOKEN.

Two sources, because Kairan runs as several processes (gunicorn's workers, the delivery worker,
the clock):
- what the worker and the clock did is in the database: delivery, multicast and clock figures
  are read from it at each scrape (`DatabaseCollector`), so whichever web process answers
  reports all of it, and nothing is lost when a process restarts;
- webhook requests are seen only by the web process that serves them: counted with
  prometheus_client's own metrics, which under gunicorn run in its multiprocess mode (files in
  PROMETHEUS_MULTIPROC_DIR, see gunicorn_conf.py) and are summed over every worker at a scrape.
The remaining quota is LINE's: asked at most every few minutes (`QUOTA_ASKED_EVERY`) with the
client's timeout, its last answer reported in between.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import urllib3
from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from broadcasts.core.clock import Clock
from broadcasts.delivery import reports
from broadcasts.delivery.line import remaining_quota
from broadcasts.monitoring import figures
from linebot_app.extensions import clock, db, line, settings
from models import BatchStatus

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)

# Not registered in prometheus_client's global registry: each scrape builds its own (below).
WEBHOOK_EVENTS = Counter(
    "kairan_webhook_events",
    "LINE webhook events by type and what became of them "
    "(handled, duplicate: a redelivery already handled, ignored, failed: rolled back).",
    ["type", "outcome"],
    registry=None,
)
# LINE abandons a webhook after 2 s; the buckets are finer below that.
WEBHOOK_SECONDS = Histogram(
    "kairan_webhook_request_seconds",
    "Time to answer LINE's webhook requests (POST /callback), all of its events included.",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0),
    registry=None,
)
# Whether this process's metrics live in PROMETHEUS_MULTIPROC_DIR: prometheus_client decided
# when it was imported, whatever the environment says later.
MULTIPROCESS = values.ValueClass is not values.MutexValue
EVENT_TYPE = re.compile(r"[A-Za-z]{1,40}")

QUOTA_EXTENSION = "kairan.quota"
# LINE's quota changes as messages go out; a few minutes old is recent enough for an alert,
# and LINE is not asked at every scrape.
QUOTA_ASKED_EVERY = timedelta(minutes=5)

F = TypeVar("F", bound=Callable[..., Any])


def webhook_event(event_type: str, outcome: str) -> None:
    kind = event_type if EVENT_TYPE.fullmatch(event_type) else "other"
    WEBHOOK_EVENTS.labels(type=kind, outcome=outcome).inc()


def timed_webhook(view: F) -> F:
    @wraps(view)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return view(*args, **kwargs)
        finally:
            WEBHOOK_SECONDS.observe(time.perf_counter() - started)

    return timed  # type: ignore[return-value]


@bp.get("/metrics")
def metrics() -> Response:
    token = settings().KAIRAN_METRICS_TOKEN
    if token is None:
        # Off: the same answer as any address the site does not have.
        return Response("not found\n", status=404, mimetype="text/plain")
    if not _authorised(token.get_secret_value()):
        # Never the header's value: it may be a near miss of the token.
        log.warning("metrics: scrape refused (missing or wrong bearer token)")
        return Response(
            "unauthorized\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(WEBHOOK_EVENTS)
        registry.register(WEBHOOK_SECONDS)
    registry.register(DatabaseCollector(clock, _quota()))
    try:
        body = generate_latest(registry)
    except SQLAlchemyError as error:
        log.warning("metrics: database unreachable (%s)", type(error).__name__)
        return Response("database unreachable\n", status=503, mimetype="text/plain")
    finally:
        # Read-only: end the transaction the figures opened.
        db.session.rollback()
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _authorised(token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    # Constant time: how long the comparison takes must not tell how much of a guess was right.
    return hmac.compare_digest(given.strip().encode(), token.encode())


class DatabaseCollector(Collector):
    """Figures read from the database at the scrape, in the scraping process."""

    def __init__(self, clock: Clock, quota: Quota) -> None:
        self.clock = clock
        self.quota = quota

    def collect(self) -> Iterator[Any]:
        session = db.session
        now = self.clock.now()
        read = figures.read(session, self.clock)
        batches = GaugeMetricFamily(
            "kairan_delivery_batches",
            "Multicast requests (batches of up to 500 deliveries) by status.",
            labels=["status"],
        )
        for status, count in read.batches.items():
            batches.add_metric([status.value], count)
        yield batches
        yield GaugeMetricFamily(
            "kairan_deliveries_pending",
            "Deliveries in batches waiting for a worker (due now, backing off, or paused).",
            value=read.deliveries_pending,
        )
        yield GaugeMetricFamily(
            "kairan_deliveries_in_flight",
            "Deliveries in batches a worker has claimed and is sending.",
            value=read.deliveries_in_flight,
        )
        waited = (now - read.oldest_due_since).total_seconds() if read.oldest_due_since else 0.0
        yield GaugeMetricFamily(
            "kairan_oldest_due_batch_age_seconds",
            "How long the batch that has waited longest for a worker has been due (0: none).",
            value=max(0.0, waited),
        )
        multicasts = CounterMetricFamily(
            "kairan_multicasts",
            "Multicast requests by outcome: accepted or failed (refused) batches, and retry: "
            "LINE's answers asking to try again (5xx, 429, no answer in time).",
            labels=["outcome"],
        )
        multicasts.add_metric(["accepted"], read.batches[BatchStatus.accepted])
        multicasts.add_metric(["failed"], read.batches[BatchStatus.failed])
        multicasts.add_metric(["retry"], read.line_retries)
        yield multicasts
        yield GaugeMetricFamily(
            "kairan_circulars_paused",
            "Circulars whose sending waits for a person (quota used up, token refused).",
            value=read.circulars_paused,
        )
        senders = reports.senders(session, self.clock)
        yield GaugeMetricFamily(
            "kairan_delivery_workers",
            "Delivery worker processes seen (heartbeat) in the last seconds.",
            value=senders.workers,
        )
        alive = GaugeMetricFamily(
            "kairan_delivery_senders",
            "Sender threads of those workers: alive, and wanted when healthy.",
            labels=["state"],
        )
        alive.add_metric(["alive"], senders.alive)
        alive.add_metric(["wanted"], senders.wanted)
        yield alive
        if read.last_tick is not None:
            yield GaugeMetricFamily(
                "kairan_clock_last_tick_timestamp_seconds",
                "When the clock process last ticked (Unix time); absent while no clock runs.",
                value=read.last_tick.timestamp(),
            )
        known = self.quota.known(now)
        if known is not None:
            remaining, asked_at = known
            if remaining is not None:
                yield GaugeMetricFamily(
                    "kairan_line_quota_remaining",
                    "Messages LINE will still send this month (absent on a plan without limit).",
                    value=remaining,
                )
            yield GaugeMetricFamily(
                "kairan_line_quota_checked_timestamp_seconds",
                "When LINE last answered the quota question (Unix time).",
                value=asked_at.timestamp(),
            )


@dataclass
class Quota:
    """LINE's remaining quota as last known to this process, asked again when old."""

    ask: Callable[[], int | None]
    answer: int | None = None
    answered_at: datetime | None = None
    asked_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def known(self, now: datetime) -> tuple[int | None, datetime] | None:
        """The last answer and when it came; None when LINE has never answered."""
        # One scrape asks at a time; the others report the last answer meanwhile.
        if self.lock.acquire(blocking=False):
            try:
                if self.asked_at is None or now - self.asked_at >= QUOTA_ASKED_EVERY:
                    self._ask(now)
            finally:
                self.lock.release()
        if self.answered_at is None:
            return None
        return self.answer, self.answered_at

    def _ask(self, now: datetime) -> None:
        from linebot.v3.messaging import ApiException

        # Failed asks wait their turn too: LINE is not hammered while it is unwell.
        self.asked_at = now
        try:
            self.answer = self.ask()
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            log.warning("metrics: quota unavailable (%s)", type(error).__name__)
            return
        self.answered_at = now


def _quota() -> Quota:
    """This app's quota memory (one per app and process)."""
    extensions = current_app.extensions
    if QUOTA_EXTENSION not in extensions:
        client = line()
        extensions.setdefault(QUOTA_EXTENSION, Quota(lambda: remaining_quota(client)))
    quota: Quota = extensions[QUOTA_EXTENSION]
    return quota
