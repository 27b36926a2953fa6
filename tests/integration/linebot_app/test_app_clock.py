"""The app asks one clock the time, given to the factory: views and commands read it, so a test
can set the time of a whole request (issue #19: no `SystemClock()` scattered through views)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.staff import logins
from linebot_app import create_app
from linebot_app.cli import cli
from linebot_app.extensions import db
from models import LoginLink, Role, StaffMember
from tests.helpers.clock import FakeClock
from tests.helpers.settings import make_settings

LATER = datetime(2031, 4, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def later_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """A second app on the same database whose clock stands at LATER."""
    settings = app.config["KAIRAN_SETTINGS"]
    built = create_app(
        make_settings(DATABASE_URL=database_url, LINE_API_BASE_URL=settings.LINE_API_BASE_URL),
        clock=FakeClock(LATER),
    )
    built.config["TESTING"] = True
    yield built
    with built.app_context():
        db.engine.dispose()


def test_a_command_reads_the_apps_clock(
    later_app: Flask, session: Session, make_staff: Callable[..., StaffMember]
) -> None:
    admin = make_staff(Role.admin)
    session.commit()
    info = ScriptInfo(create_app=lambda: later_app)
    # A command runs in the app context it finds (here the test's own app's, for `session`).
    with later_app.app_context():
        result = CliRunner().invoke(cli, ["staff", "login-link", admin.line_user_id], obj=info)
    assert result.exit_code == 0, result.output
    session.expire_all()
    link = session.scalars(select(LoginLink)).one()
    assert link.expires_at.replace(tzinfo=UTC) == LATER + logins.VALID_FOR


def test_a_request_reads_the_apps_clock(
    later_app: Flask, session: Session, make_staff: Callable[..., StaffMember]
) -> None:
    """A link issued now has long expired at the app's time: the login is refused."""
    officer = make_staff(Role.admin)
    issued = logins.issue(session, SystemClock(), officer)
    session.commit()
    client = later_app.test_client()
    url = f"/dashboard/login/{issued.token}"
    page = client.get(url)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    assert match is not None
    response = client.post(url, data={"csrf_token": match.group(1)})
    assert response.status_code == 400
    assert "dashboard" not in response.headers.get("Location", "")


def test_importing_the_models_changes_no_engine() -> None:
    """SQLite's tuning is installed on the engines the project makes (`tune`), not on every
    engine by being imported: a plain engine keeps SQLite's defaults."""
    from sqlalchemy import create_engine, text

    import models.session

    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 0
    engine.dispose()
    tuned = models.session.tune(create_engine("sqlite://"))
    with tuned.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    tuned.dispose()
