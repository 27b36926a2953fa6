"""Fixtures shared by every tier: settings, databases (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), the app, and factories for the model."""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.delivery.worker import Worker
from broadcasts.staff import logins
from linebot_app import create_app
from linebot_app.config import Settings
from linebot_app.dashboard.auth import SESSION_KEY
from linebot_app.extensions import db, line
from models import (
    Association,
    Base,
    Circular,
    District,
    Group,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from models.session import normalise_database_url
from simulator.testing import RunningSimulator, SimulatorClient, start_simulator
from tests.helpers.clock import FakeClock
from tests.helpers.databases import fresh_schema, postgres_url
from tests.helpers.settings import TEST_SETTINGS, make_settings
from tests.helpers.webhooks import line_signature

# --- no network ---------------------------------------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise RuntimeError(f"tests must not reach the network (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


# --- databases ----------------------------------------------------------------------------------


def pytest_report_header() -> str:
    postgres = os.environ.get("TEST_DATABASE_URL")
    where = make_url(normalise_database_url(postgres)).render_as_string() if postgres else None
    return "databases: sqlite" + (f", postgresql ({where})" if where else " (PostgreSQL: not set)")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'kairan.sqlite3'}"
    else:
        url = postgres_url()
    fresh_schema(url)
    return url


# --- the LINE simulator -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def line_simulator() -> Iterator[RunningSimulator]:
    """One simulator for the session, with the same channel secret and token as the app."""
    running = start_simulator(
        TEST_SETTINGS["LINE_CHANNEL_SECRET"], TEST_SETTINGS["LINE_CHANNEL_ACCESS_TOKEN"]
    )
    yield running
    running.stop()


@pytest.fixture
def sim(line_simulator: RunningSimulator) -> SimulatorClient:
    """The simulator's control API, reset for this test."""
    line_simulator.client.reset()
    line_simulator.client.set_webhook_url(None)
    return line_simulator.client


# --- the app ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _session_app(database_url: str, line_simulator: RunningSimulator) -> Iterator[Flask]:
    app = create_app(
        make_settings(DATABASE_URL=database_url, LINE_API_BASE_URL=line_simulator.base_url)
    )
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The app on a migrated database, emptied after each test."""
    yield _session_app
    with _session_app.app_context():
        db.session.rollback()
        with db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        yield db.session


# --- factories ----------------------------------------------------------------------------------

_numbers = itertools.count(1)


@pytest.fixture
def make_district(session: Session) -> Callable[..., District]:
    def make(**fields: Any) -> District:
        n = next(_numbers)
        district = District(**{"code": f"D{n}", "name": f"校区{n}", "kana": "こうく", **fields})
        session.add(district)
        session.flush()
        return district

    return make


@pytest.fixture
def make_association(
    session: Session, make_district: Callable[..., District]
) -> Callable[..., Association]:
    def make(*, groups: tuple[str, ...] = (), **fields: Any) -> Association:
        n = next(_numbers)
        if "district" not in fields:
            fields["district"] = make_district()
        association = Association(
            **{
                "code": f"A{n}",
                "name": f"自治会{n}",
                "kana": "じちかい",
                "household_count": 100,
                **fields,
            }
        )
        association.groups = [Group(name=name, position=i) for i, name in enumerate(groups, 1)]
        session.add(association)
        session.flush()
        return association

    return make


@pytest.fixture
def make_resident(
    session: Session, make_association: Callable[..., Association]
) -> Callable[..., Resident]:
    def make(**fields: Any) -> Resident:
        n = next(_numbers)
        if "association" not in fields:
            fields["association"] = make_association()
        resident = Resident(**{"line_user_id": f"U{n:032x}", "display_name": f"住民{n}", **fields})
        session.add(resident)
        session.flush()
        return resident

    return make


@pytest.fixture
def make_staff(session: Session) -> Callable[..., StaffMember]:
    def make(role: Role = Role.admin, **scope: Any) -> StaffMember:
        n = next(_numbers)
        member = StaffMember(line_user_id=f"U{n:032x}", display_name=f"職員{n}")
        member.roles.append(StaffRole(role=role, **scope))
        session.add(member)
        session.flush()
        return member

    return make


@pytest.fixture
def make_circular(
    session: Session, make_staff: Callable[..., StaffMember]
) -> Callable[..., Circular]:
    def make(**fields: Any) -> Circular:
        if "author" not in fields:
            fields["author"] = make_staff()
        circular = Circular(
            **{"title": "清掃活動のお知らせ", "body": "日曜日の朝8時に集合。", **fields}
        )
        session.add(circular)
        session.flush()
        return circular

    return make


# --- delivery -----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))


@pytest.fixture
def make_line_residents(session: Session, sim: SimulatorClient) -> Callable[..., list[str]]:
    """`count` residents who are also friends of the bot in the simulator; their LINE ids."""

    def make(count: int, association: Association, group: Group | None = None) -> list[str]:
        user_ids = sim.create_users(count)
        session.execute(
            insert(Resident),
            [
                {
                    "line_user_id": user_id,
                    "association_id": association.id,
                    "group_id": group.id if group else None,
                    "registered_at": datetime(2026, 11, 1, tzinfo=UTC),
                }
                for user_id in user_ids
            ],
        )
        session.flush()
        return user_ids

    return make


@pytest.fixture
def worker(app: Flask, session: Session, clock: FakeClock, sim: SimulatorClient) -> Worker:
    """A delivery worker in this process, sending to a freshly reset simulator, on the test
    clock."""
    return Worker(db.sessionmaker, line(), clock, "test-worker")


# --- LINE webhooks ------------------------------------------------------------------------------


@pytest.fixture
def post_webhook(app: Flask) -> Callable[..., Any]:
    """POST events (or raw bytes) to /callback, correctly signed unless told otherwise."""
    client = app.test_client()

    def post(body: list[dict[str, Any]] | bytes, signature: str | None = None) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps({"events": body}).encode()
        headers = {"Content-Type": "application/json"}
        headers["X-Line-Signature"] = line_signature(raw) if signature is None else signature
        return client.post("/callback", data=raw, headers=headers)

    return post


# --- the dashboard ------------------------------------------------------------------------------


@pytest.fixture
def dashboard_client(app: Flask, session: Session) -> Callable[..., Any]:
    """A test client logged in to the dashboard as `member` (None: not logged in), over https
    so the Secure session cookie is sent back."""

    class Client(FlaskClient):
        # Each request in an app context of its own, as in production: otherwise the test's
        # context (and its `g`, where Flask-WTF and Flask-Babel cache) would span requests.
        def open(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return super().open(*args, **kwargs)

    def make(member: StaffMember | None = None) -> Any:
        session.commit()
        client = Client(app, app.response_class, use_cookies=True)
        client.environ_base["wsgi.url_scheme"] = "https"
        if member is not None:
            lifetime = app.permanent_session_lifetime
            session_id = logins.start_session(session, SystemClock(), member.id, lifetime)
            session.commit()
            with client.session_transaction() as cookie:
                cookie[SESSION_KEY] = session_id
                cookie.permanent = True
        return client

    return make


# --- circulars on the web (issue #6) -------------------------------------------------------------


@pytest.fixture
def upload_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Attachments go to a fresh directory for this test (KAIRAN_UPLOAD_DIR)."""
    directory = tmp_path / "uploads"
    settings: Settings = app.config["KAIRAN_SETTINGS"]
    monkeypatch.setitem(
        app.config,
        "KAIRAN_SETTINGS",
        settings.model_copy(update={"KAIRAN_UPLOAD_DIR": str(directory)}),
    )
    return directory
