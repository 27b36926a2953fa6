"""Injected faults, observed the way the bot sees them: through line-bot-sdk's MessagingApi."""

from __future__ import annotations

import time
import uuid

import pytest
import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    TextMessage,
)

from simulator.testing import ControlAPIError, SimulatorClient, start_simulator
from tests.helpers.simulated_line import SECRET, TOKEN
from tests.helpers.waiting import wait_until

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
    assert len(wait_until(lambda: sim.inbox(follower), "the slow push to arrive")) == 1


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


# --- failing as LINE fails (issue #24, item 5) ---------------------------------------------------


def multicast_with_key(api: MessagingApi, to: list[str], key: str) -> None:
    api.multicast(
        MulticastRequest(to=to, messages=[TextMessage(text="一度だけ")]),
        x_line_retry_key=key,
        _request_timeout=TIMEOUT,
    )


def test_accept_then_500_delivers_and_a_retry_with_the_key_is_409(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    key = str(uuid.uuid4())
    sim.set_faults(acceptThenError500=1.0)
    with pytest.raises(ApiException) as failed:
        multicast_with_key(line_api, [follower], key)
    assert failed.value.status == 500
    assert len(sim.inbox(follower)) == 1 and sim.quota()["used"] == 1
    logged = sim.requests_log("/v2/bot/message/multicast")[-1]
    assert logged["fault"] == "acceptThenError500"
    assert logged["startedAt"] <= logged["acceptedAt"] <= logged["timestamp"]
    sim.clear_faults()
    with pytest.raises(ApiException) as again:
        multicast_with_key(line_api, [follower], key)
    assert again.value.status == 409
    assert len(sim.inbox(follower)) == 1 and sim.quota()["used"] == 1


def test_a_refused_connection_is_an_error_without_a_status_and_sends_nothing(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    sim.set_faults(refuse=1.0)
    with pytest.raises((urllib3.exceptions.ProtocolError, ConnectionError)):
        push(line_api, follower)
    assert sim.inbox(follower) == [] and sim.quota()["used"] == 0
    sim.clear_faults()
    push(line_api, follower)
    assert len(sim.inbox(follower)) == 1


def test_latency_is_drawn_per_request_from_a_distribution(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    sim.set_faults(latency={"distribution": "uniform", "min": 0.0, "max": 0.05}, seed=5)
    for _ in range(8):
        push(line_api, follower)
    drawn = [entry["latencySeconds"] for entry in sim.requests_log("/v2/bot/message/push")]
    assert len(set(drawn)) == 8 and all(0.0 <= d <= 0.05 for d in drawn)
    sim.set_faults(latency={"distribution": "exponential", "mean": 0.01, "max": 0.04}, seed=5)
    push(line_api, follower)
    assert 0.0 <= sim.requests_log("/v2/bot/message/push")[-1]["latencySeconds"] <= 0.04
    with pytest.raises(ControlAPIError):
        sim.set_faults(latency={"distribution": "normal", "mean": 1})


def test_some_recipients_block_between_accept_and_delivery(
    line_api: MessagingApi, sim: SimulatorClient
) -> None:
    followers = sim.create_users(40)
    sim.set_faults(blockBeforeDelivery=0.5, seed=11)
    multicast_with_key(line_api, followers, str(uuid.uuid4()))
    counts = sim.inbox_counts()
    got = [u for u in followers if counts.get(u, 0) == 1]
    missed = [u for u in followers if counts.get(u, 0) == 0]
    assert got and missed and len(got) + len(missed) == 40
    assert {sim.user(u)["state"] for u in missed} == {"blocked"}
    assert {sim.user(u)["state"] for u in got} == {"following"}
    assert sim.quota()["used"] == len(got), "a blocked recipient costs nothing"


def test_a_tight_rate_limit_does_not_hide_other_faults(
    line_api: MessagingApi, sim: SimulatorClient, follower: str
) -> None:
    sim.set_rate_limits(enabled=True, limits={"push": {"requests": 1, "perSeconds": 3600}})
    sim.set_faults(error500=0.5, seed=3)
    statuses = []
    for _ in range(20):
        try:
            push(line_api, follower)
            statuses.append(200)
        except ApiException as error:
            statuses.append(int(error.status))
    assert statuses.count(500) >= 5 and statuses.count(429) >= 5, statuses


def test_retry_keys_live_24_hours_of_a_clock_shared_with_the_bot() -> None:
    """A test moves one clock for both sides: at 24 hours LINE forgets the key, so a resend
    would deliver twice (why the bot holds such a batch instead, tests/integration)."""
    shared = {"now": 1_800_000_000.0}
    running = start_simulator(SECRET, TOKEN, clock=lambda: shared["now"])
    try:
        (user,) = running.client.create_users(1)
        with ApiClient(Configuration(host=running.base_url, access_token=TOKEN)) as client:
            api = MessagingApi(client)
            key = str(uuid.uuid4())
            multicast_with_key(api, [user], key)
            shared["now"] += 24 * 3600 - 1
            with pytest.raises(ApiException) as remembered:
                multicast_with_key(api, [user], key)
            assert remembered.value.status == 409
            shared["now"] += 1
            multicast_with_key(api, [user], key)
        assert running.client.inbox_counts()[user] == 2
    finally:
        running.stop()
