"""The one way Kairan reaches LINE: line-bot-sdk v3 clients built from configuration.

`LINE_API_BASE_URL` points them at LINE or at the simulator. The SDK's sync client waits forever
by default, so every call passes `line.timeout`.
"""

from __future__ import annotations

from dataclasses import dataclass

from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

# (connect, read) seconds. LINE answers in well under a second; a read that takes 10 s has failed.
TIMEOUT = (3.05, 10.0)


@dataclass(frozen=True)
class Line:
    api: MessagingApi
    # Content (photos users send) and rich-menu images; api-data.line.me on the real platform.
    blob: MessagingApiBlob
    timeout: tuple[float, float] = TIMEOUT


def connect(base_url: str, access_token: str, data_base_url: str | None = None) -> Line:
    """Build the clients; nothing is sent until a call is made."""
    api = ApiClient(_configuration(base_url, access_token))
    blob = ApiClient(_configuration(data_base_url or base_url, access_token))
    return Line(api=MessagingApi(api), blob=MessagingApiBlob(blob))


def _configuration(host: str, access_token: str) -> Configuration:
    configuration = Configuration(host=host, access_token=access_token)
    # Kairan's delivery engine decides about retries (same retry key, back-off); urllib3 must
    # not resend a request on its own.
    configuration.retries = False
    return configuration
