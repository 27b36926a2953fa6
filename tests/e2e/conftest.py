"""Fixtures for tests that run Kairan's processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from linebot_app.extensions import db
from simulator.testing import RunningSimulator

# `started` is a fixture: imported here, every process test may use it.
from tests.e2e.test_processes import (  # noqa: F401
    environment,
    free_port,
    procfile,
    started,
    wait_for,
)
from tests.helpers.databases import fresh_schema, postgres_url


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
        processes.append(
            subprocess.Popen(
                procfile()["web"], shell=True, cwd=tmp_path, env=env, start_new_session=True
            )
        )
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == 200
        return f"http://127.0.0.1:{port}/callback"

    yield serve
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def web(serve_web: Callable[[int], str]) -> str:
    """The Procfile's web line, two workers, on the test's PostgreSQL database."""
    return serve_web(2)
