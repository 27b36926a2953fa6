from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.schedule.jobs import acquire_lease
from linebot_app import create_app
from linebot_app.extensions import db
from linebot_app.schema import alembic_config, head_revision, schema_problem, upgrade
from models import Base
from models.session import tune
from tests.helpers.settings import make_settings


def test_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_head_read_from_file_names_is_alembics(tmp_path: Path) -> None:
    """The start-up check reads the newest revision from the file names, without Alembic."""
    engine = create_engine(f"sqlite:///{tmp_path / 'names.sqlite3'}")
    with engine.connect() as connection:
        scripts = ScriptDirectory.from_config(alembic_config(connection))
    engine.dispose()
    assert scripts.get_heads() == [head_revision()]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


def test_schema_is_current_after_upgrade(app: Flask) -> None:
    with app.app_context():
        assert schema_problem(db.engine) is None


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    engine = tune(create_engine(f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"))
    upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert "kairan db upgrade" in (schema_problem(engine) or "")
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_healthz_answers_200_on_a_current_schema(app: Flask, session: Session) -> None:
    acquire_lease(session, SystemClock(), "test-clock")  # a clock runs: not degraded
    session.commit()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    # The delivery workers seen lately and their senders (none in this test).
    assert set(response.json["senders"]) == {"workers", "alive", "wanted"}


def test_healthz_answers_503_with_the_command_to_run_on_an_empty_database(tmp_path: Path) -> None:
    app = create_app(make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "kairan db upgrade" in response.json["reason"]


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'kairan.sqlite3'}"
    response = create_app(make_settings(DATABASE_URL=url)).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reason": "database unreachable"}


def _insert(connection: Any, table: str, **given: object) -> None:
    """A row with `given` and a plain value in every other required column."""
    values: dict[str, object] = {}
    for _cid, name, kind, not_null, default, key in connection.execute(
        text(f"PRAGMA table_info({table})")
    ):
        if name in given:
            values[name] = given[name]
        elif not_null and default is None and not key:
            kind = kind.upper()
            number = "INT" in kind or "BOOL" in kind
            moment = "DATE" in kind or "TIME" in kind
            values[name] = 1 if number else "2026-01-01 00:00:00.000000" if moment else "x"
    columns = ", ".join(values)
    connection.execute(
        # The names come from the schema itself, never from input.
        text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"),  # noqa: S608
        values,
    )


def test_an_upgrade_keeps_households_and_their_members_on_sqlite(tmp_path: Path) -> None:
    """0026 copied `households` to add a foreign key; with foreign keys on, SQLite refused to
    drop the old table while members pointed at it, and the upgrade failed."""
    engine = tune(create_engine(f"sqlite:///{tmp_path / 'families.sqlite3'}"))
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0024")
    with engine.begin() as connection:
        _insert(connection, "districts", id=1, code="D1", status="active")
        _insert(connection, "associations", id=1, district_id=1, code="A1")
        _insert(
            connection,
            "residents",
            id=1,
            line_user_id="U" + "a" * 32,
            association_id=1,
            follow_status="following",
        )
        _insert(connection, "households", id=1)
        _insert(connection, "household_members", household_id=1, resident_id=1)
    upgrade(engine)
    with engine.connect() as connection:
        members = connection.execute(text("SELECT household_id FROM household_members")).all()
    engine.dispose()
    assert members == [(1,)]
