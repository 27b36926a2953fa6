"""Fixtures for end-to-end tests: Kairan's processes, databases of a test's own, and the app
served to the simulator's phones and to a real browser."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from broadcasts.delivery.worker import Worker
from linebot_app.extensions import db
from simulator.testing import RunningSimulator, SimulatorClient, start_simulator
from tests.helpers.browser import chromium
from tests.helpers.databases import fresh_schema, postgres_url
from tests.helpers.processes import environment, free_port, start_web, stop, wait_for
from tests.helpers.servers import serving_line
from tests.helpers.settings import TEST_SETTINGS


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; stopped at the end whatever happens."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        stop(process)


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: killed processes must not disturb the shared one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'chaos.sqlite3'}"
        fresh_schema(url)
        yield url
        return
    shared = make_url(postgres_url())
    name = f"{shared.database}_chaos"
    admin = create_engine(shared, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = shared.set(database=name).render_as_string(hide_password=False)
    fresh_schema(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def serve_web(
    app: Flask, line_simulator: RunningSimulator, tmp_path: Path
) -> Iterator[Callable[[int], str]]:
    """Start the Procfile's web line with `workers` gunicorn workers on the test's PostgreSQL
    database; returns its /callback URL. Stopped at the end of the test."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("several workers writing at once is a PostgreSQL matter")
    processes: list[subprocess.Popen[bytes]] = []

    def serve(workers: int) -> str:
        port = free_port()
        env = environment(
            tmp_path,
            PORT=str(port),
            WEB_CONCURRENCY=str(workers),
            LINE_CHANNEL_SECRET="test-channel-secret",
            LINE_CHANNEL_ACCESS_TOKEN="test-access-token",
            SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
            KAIRAN_PUBLIC_URL="https://kairan.test",
            LINE_API_BASE_URL=line_simulator.base_url,
            DATABASE_URL=url.render_as_string(hide_password=False),
        )
        processes.append(start_web(tmp_path, env))
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == 200
        return f"http://127.0.0.1:{port}/callback"

    yield serve
    for process in processes:
        stop(process)


@pytest.fixture
def web(serve_web: Callable[[int], str]) -> str:
    """The Procfile's web line, two workers, on the test's PostgreSQL database."""
    return serve_web(2)


@pytest.fixture
def chaos_simulator() -> Iterator[RunningSimulator]:
    running = start_simulator(
        TEST_SETTINGS["LINE_CHANNEL_SECRET"], TEST_SETTINGS["LINE_CHANNEL_ACCESS_TOKEN"]
    )
    yield running
    running.stop()


# --- the app in a thread, for phones and browsers ------------------------------------------------


@pytest.fixture
def served(app: Flask, sim: SimulatorClient) -> Iterator[str]:
    """The app over HTTP in a thread; the simulator's webhook points at it. Its base URL."""
    with serving_line(app, sim) as base:
        yield base


@pytest.fixture
def bot(app: Flask, sim: SimulatorClient) -> Iterator[str]:
    """The app over HTTP in a thread, and the simulator's webhook pointed at it: its /callback
    URL."""
    with serving_line(app, sim) as base:
        yield f"{base}/callback"


@pytest.fixture
def browser_page(served: str, session: Session, worker: Worker) -> Iterator[Any]:
    """Set up after (and closed before) the server and the database fixtures: Playwright's
    sync API runs an event loop in this thread while it is open, and closing an app context
    (flask-sqlalchemy-lite's teardown) must not happen inside it."""
    with chromium() as browser:
        # A phone-sized window: many officers use the dashboard on their phones.
        context = browser.new_context(
            viewport={"width": 430, "height": 900}, accept_downloads=True, locale="ja-JP"
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
