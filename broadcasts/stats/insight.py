"""LINE's own statistics of a circular (LINE Insight, per custom aggregation unit): what LINE
counted of its card, beside Kairan's own counts. One network call, made while a person waits for
the page, outside any transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import urllib3

from broadcasts.delivery.line import Line
from broadcasts.delivery.messages import unit_name

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")
# LINE hides every per-unit value under this many users.
LINE_PRIVACY_THRESHOLD = 20
# The insight call is made while a person waits for the page: short, and never retried.
LINE_STATS_TIMEOUT = (1.0, 2.0)


@dataclass(frozen=True)
class LineStats:
    # None: LINE hides values under LINE_PRIVACY_THRESHOLD users.
    unique_impression: int | None
    unique_click: int | None
    impression: int | None


def line_statistics(
    line: Line, circular_id: int, released_at: datetime, today: date
) -> LineStats | None:
    """LINE's per-unit statistics for the circular, or None when LINE did not answer.

    A network call: make it outside any write transaction.
    """
    from linebot.v3.insight import ApiClient as InsightApiClient
    from linebot.v3.insight import Configuration as InsightConfiguration
    from linebot.v3.insight import Insight
    from linebot.v3.insight.exceptions import OpenApiException as InsightError

    start = released_at.astimezone(TOKYO).date()
    end = min(today, start + timedelta(days=30))
    messaging = line.api.api_client.configuration
    configuration = InsightConfiguration(host=messaging.host, access_token=messaging.access_token)
    configuration.retries = False
    insight = Insight(InsightApiClient(configuration))
    try:
        response = insight.get_statistics_per_unit(
            custom_aggregation_unit=unit_name(circular_id),
            var_from=start.strftime("%Y%m%d"),
            to=max(start, end).strftime("%Y%m%d"),
            _request_timeout=LINE_STATS_TIMEOUT,
        )
    except (InsightError, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        log.warning(
            "LINE statistics for circular %s failed (%s)", circular_id, type(error).__name__
        )
        return None
    overview = response.overview
    impressions = [m.impression for m in response.messages or [] if m.impression is not None]
    return LineStats(
        unique_impression=overview.unique_impression if overview else None,
        unique_click=overview.unique_click if overview else None,
        impression=sum(impressions) if impressions else None,
    )
