"""Injected faults, observed the way the bot sees them: through line-bot-sdk's MessagingApi."""

from __future__ import annotations

import time
import uuid

import pytest
import urllib3
from linebot.v3.messaging import (
    ApiException,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    TextMessage,
)

from simulator.testing import SimulatorClient

TIMEOUT = 5


def push(
    api: MessagingApi, to: str, *, retry_key: str | None = None, timeout: float = TIMEOUT
) -> None:
    api.push_message(
        PushMessageRequest(to=to, messages=[TextMessage(text="回覧です")]),
        x_line_retry_key=retry_key,
        _request_timeout=timeout,
    )


@pytest.mark.parametrize(("kind", "status"), [("error500", 500), ("error429", 429)])
def test_error_faults_raise_api_exception_and_deliver_nothing(
    line_api: MessagingApi, sim: SimulatorClient, follower: str, kind: str, status: int
) -> None:
    sim.set_faults(**{kind: 1.0})
    with pytest.raises(ApiException) as caught:
        push(line_api, follower)
    assert caught.value.status == status
    assert sim.inbox(follower) == []
    assert sim.quota()["used"] == 0


def test_slow_answer_times_out_the_client_but_still_delivers(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    sim.set_faults(slow=1.0, slowSeconds=0.6)
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        push(line_api, follower, timeout=0.2)
    assert time.monotonic() - started < 0.5
    deadline = time.monotonic() + 3
    while not sim.inbox(follower) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sim.inbox(follower)) == 1


def test_dropped_connection_raises_protocol_error_and_delivers_nothing(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    sim.set_faults(drop=1.0)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        push(line_api, follower)
    assert sim.inbox(follower) == []
    sim.clear_faults()
    push(line_api, follower)
    assert len(sim.inbox(follower)) == 1


def test_accept_then_drop_delivers_and_a_retry_with_the_key_is_409(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    key = str(uuid.uuid4())
    sim.set_faults(acceptThenDrop=1.0)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        line_api.multicast(
            MulticastRequest(to=[follower], messages=[TextMessage(text="一度だけ")]),
            x_line_retry_key=key,
            _request_timeout=TIMEOUT,
        )
    assert len(sim.inbox(follower)) == 1
    sim.clear_faults()
    with pytest.raises(ApiException) as caught:
        line_api.multicast(
            MulticastRequest(to=[follower], messages=[TextMessage(text="一度だけ")]),
            x_line_retry_key=key,
            _request_timeout=TIMEOUT,
        )
    assert caught.value.status == 409
    accepted = caught.value.headers["x-line-accepted-request-id"]
    assert sim.inbox(follower)[0]["requestId"] == accepted
    assert len(sim.inbox(follower)) == 1


def outcomes(api: MessagingApi, to: str, sim: SimulatorClient) -> list[str]:
    sim.set_faults(error500=0.3, error429=0.3, seed=42)
    result = []
    for _ in range(12):
        try:
            push(api, to)
            result.append("ok")
        except ApiException as error:
            result.append(str(error.status))
    return result


def test_faults_are_repeatable_with_a_seed(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    first = outcomes(line_api, follower, sim)
    second = outcomes(line_api, follower, sim)
    assert first == second
    assert {"ok", "500", "429"} <= set(first)
    assert len(sim.inbox(follower)) == 2 * first.count("ok")


def test_faults_can_target_paths(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    sim.set_faults(error500=1.0, paths=["/v2/bot/message/multicast"])
    push(line_api, follower)
    with pytest.raises(ApiException):
        line_api.multicast(
            MulticastRequest(to=[follower], messages=[TextMessage(text="x")]),
            _request_timeout=TIMEOUT,
        )
    assert len(sim.inbox(follower)) == 1
    log = sim.requests_log("/v2/bot/message/multicast")
    assert log[-1]["fault"] == "error500"
    assert log[-1]["status"] == 500
