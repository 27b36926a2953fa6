"""The channel's webhook settings as LINE exposes them: the endpoint, 「Webhookの利用」 (active),
and the verify call (`POST /v2/bot/channel/webhook/test`) that `kairan line check` relies on."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from linebot.v3 import messaging
from linebot.v3.messaging import MessagingApi

from simulator.testing import SimulatorClient
from tests.helpers.simulated_line import RawLine, TinyBot


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting is refused."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def test_the_endpoint_reports_webhook_usage(
    sim: SimulatorClient, line_api: MessagingApi, bot: TinyBot
) -> None:
    shown = line_api.get_webhook_endpoint()
    assert (shown.endpoint, shown.active) == (bot.url, True)

    sim.set_webhook_url(bot.url, active=False)
    shown = line_api.get_webhook_endpoint()
    assert (shown.endpoint, shown.active) == (bot.url, False)
    # Off, LINE sends no events at all.
    user = sim.create_user()
    assert sim.follow(user)["webhook"]["attempts"] == []
    assert bot.requests == []

    sim.set_webhook_url(None)
    shown = line_api.get_webhook_endpoint()
    assert (shown.endpoint, shown.active) == ("", False)


def test_verify_sends_a_signed_request_without_events(
    sim: SimulatorClient, line_api: MessagingApi, bot: TinyBot
) -> None:
    result = line_api.test_webhook_endpoint()
    assert (result.success, result.status_code, result.reason, result.detail) == (
        True,
        200,
        "OK",
        "200",
    )
    # The tiny bot checked the signature with line-bot-sdk before answering 200.
    assert bot.rejected == 0
    assert [request["events"] for request in bot.requests] == [[]]


def test_verify_works_while_webhook_usage_is_off(
    sim: SimulatorClient, line_api: MessagingApi, bot: TinyBot
) -> None:
    sim.set_webhook_url(bot.url, active=False)
    assert line_api.test_webhook_endpoint().success is True


def test_verify_another_url_leaves_the_setting_alone(
    sim: SimulatorClient, line_api: MessagingApi, bot: TinyBot
) -> None:
    sim.set_webhook_url(None)
    result = line_api.test_webhook_endpoint(messaging.TestWebhookEndpointRequest(endpoint=bot.url))
    assert result.success is True
    assert line_api.get_webhook_endpoint().endpoint == ""


def test_verify_reports_an_error_status(line_api: MessagingApi, bot: TinyBot) -> None:
    bot.fail_next = 1
    result = line_api.test_webhook_endpoint()
    assert (result.success, result.status_code, result.reason, result.detail) == (
        False,
        500,
        "ERROR_STATUS_CODE",
        "500",
    )


def test_verify_reports_a_refused_connection(
    sim: SimulatorClient, line_api: MessagingApi, closed_port: int
) -> None:
    sim.set_webhook_url(f"http://127.0.0.1:{closed_port}/callback")
    result = line_api.test_webhook_endpoint()
    assert (result.success, result.status_code, result.reason) == (False, 0, "COULD_NOT_CONNECT")


def test_verify_reports_a_timeout(
    sim: SimulatorClient, line_api: MessagingApi, silent_port: int
) -> None:
    sim.set_webhook_url(f"http://127.0.0.1:{silent_port}/callback", timeout_seconds=0.3)
    result = line_api.test_webhook_endpoint()
    assert (result.success, result.status_code, result.reason) == (False, 0, "REQUEST_TIMEOUT")


def test_verify_without_any_url_is_refused(sim: SimulatorClient, raw: RawLine) -> None:
    sim.set_webhook_url(None)
    answer = raw.call("POST", "/v2/bot/channel/webhook/test", {})
    assert answer.status == 400
    assert answer.json()["message"] == "The webhook URL is not set"
    # No body at all, as the SDK sends when no endpoint is given.
    assert raw.call("POST", "/v2/bot/channel/webhook/test").status == 400


def test_verify_refuses_a_malformed_endpoint(raw: RawLine) -> None:
    answer = raw.call("POST", "/v2/bot/channel/webhook/test", {"endpoint": "ftp://x"})
    assert answer.status == 400
    assert answer.json()["details"] == [{"message": "must be a URL", "property": "endpoint"}]


def test_a_wrong_token_is_refused_before_anything(raw: RawLine, bot: TinyBot) -> None:
    answer = raw.call("POST", "/v2/bot/channel/webhook/test", {}, token="not-the-token")
    assert answer.status == 401
    assert bot.requests == []
