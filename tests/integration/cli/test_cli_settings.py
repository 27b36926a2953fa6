"""Which settings each `kairan` command needs (issue #21 item 6): the schema and the areas need
only DATABASE_URL — a migration must not require LINE's secrets — and every other command
names, in one line, the setting it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from linebot_app.cli import cli
from linebot_app.config import Settings
from linebot_app.extensions import db
from models import Association
from tests.helpers.settings import SAMPLE_AREAS
from tests.helpers.waiting import wait_until


@pytest.fixture
def only_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Kairan setting in the environment, and a working directory without `.env`."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def kairan(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.usefixtures("only_database")
def test_db_upgrade_needs_only_the_database_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    code, output = kairan("db", "upgrade", DATABASE_URL=url)
    assert code == 0, output
    assert "Database schema is up to date" in output
    # Twice is harmless.
    assert kairan("db", "upgrade", DATABASE_URL=url)[0] == 0


@pytest.mark.usefixtures("only_database")
def test_import_areas_needs_only_the_database_url(app: Flask, database_url: str) -> None:
    # No app context is open here: one would be used instead of the command's own app.
    code, output = kairan("import", "areas", str(SAMPLE_AREAS), DATABASE_URL=database_url)
    assert code == 0, output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Association))


def connections_to(database_url: str) -> int:
    """PostgreSQL's sessions on the database, other than the one that counts them."""
    counter = create_engine(database_url, poolclass=NullPool)
    with counter.connect() as connection:
        others = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    counter.dispose()
    return int(others or 0)


@pytest.mark.usefixtures("app", "only_database")  # the app empties the database afterwards
def test_a_command_closes_its_database_connections_when_it_ends(database_url: str) -> None:
    # A connection left open is closed by the garbage collector at some later moment, whose
    # ResourceWarning then fails whichever test is running (seen on PostgreSQL).
    if not database_url.startswith("postgresql"):
        pytest.skip("counts PostgreSQL's sessions")
    before = connections_to(database_url)
    code, output = kairan("import", "areas", str(SAMPLE_AREAS), DATABASE_URL=database_url)
    assert code == 0, output
    # PostgreSQL lets a closed connection's session go a moment after the client closed it.
    wait_until(
        lambda: connections_to(database_url) <= before,
        lambda: f"{connections_to(database_url) - before} connection(s) of the command still open",
    )


@pytest.mark.usefixtures("only_database")
@pytest.mark.parametrize(
    "command",
    [
        ("districts", "list"),
        ("staff", "invite", "--role", "admin"),
        ("residents", "export", "U" + "0" * 32),
        ("circulars", "list"),
        ("worker",),
        ("scheduler",),
    ],
)
def test_every_other_command_names_the_missing_setting_in_one_line(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'kairan.sqlite3'}"
    code, output = kairan(*command, DATABASE_URL=url)
    assert code == 2
    assert output.count("\n") == 1, output
    assert output.startswith("設定エラー: ")
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "KAIRAN_PUBLIC_URL"):
        assert name in output
    assert "Configuration error:" in output


@pytest.mark.usefixtures("only_database")
def test_a_malformed_database_url_is_named_by_the_database_commands() -> None:
    code, output = kairan("db", "upgrade", DATABASE_URL="mysql://localhost/kairan")
    assert code == 2 and output.count("\n") == 1
    assert "DATABASE_URL" in output and "LINE_CHANNEL_SECRET" not in output
