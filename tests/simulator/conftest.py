"""Fixtures: a simulator on a free port, line-bot-sdk clients pointed at it, and a tiny bot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
)

from simulator.testing import RunningSimulator, SimulatorClient, start_simulator
from tests.helpers.simulated_line import SECRET, TOKEN, RawLine, TinyBot


@pytest.fixture(scope="session")
def running() -> Iterator[RunningSimulator]:
    simulator = start_simulator(SECRET, TOKEN)
    yield simulator
    simulator.stop()


@pytest.fixture
def sim(running: RunningSimulator) -> SimulatorClient:
    """The control client, with the simulator reset before each test."""
    running.client.reset()
    running.client.set_webhook_url(None)
    return running.client


@pytest.fixture
def base_url(running: RunningSimulator) -> str:
    return running.base_url


@pytest.fixture
def line_api(base_url: str) -> Iterator[MessagingApi]:
    with ApiClient(Configuration(host=base_url, access_token=TOKEN)) as api_client:
        yield MessagingApi(api_client)


@pytest.fixture
def raw(base_url: str) -> RawLine:
    return RawLine(base_url)


@pytest.fixture
def bot(sim: SimulatorClient, base_url: str) -> Iterator[TinyBot]:
    tiny = TinyBot(base_url, SECRET)
    sim.set_webhook_url(tiny.url)
    yield tiny
    tiny.stop()


@pytest.fixture
def follower(sim: SimulatorClient) -> str:
    """A user who follows the bot (no webhook URL set, so no bot is involved)."""
    user_id = sim.create_user("山田 花子")
    sim.follow(user_id)
    return user_id
