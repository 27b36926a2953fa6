"""The test databases: which PostgreSQL to use, a clean migrated schema, and two transactions
racing for the same rows."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from linebot_app.extensions import db
from linebot_app.schema import upgrade
from models.session import normalise_database_url, tune
from tests.helpers.waiting import PATIENCE, wait_until


def postgres_url() -> str:
    """The PostgreSQL test database; skipped when not configured, failed in CI."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests would vanish")
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL to run these tests")
    return normalise_database_url(url)


def fresh_schema(url: str) -> None:
    """Drop everything and migrate from nothing: every test session starts clean."""
    engine = tune(create_engine(url))
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
    except Exception as error:
        pytest.fail(f"test database {engine.url.render_as_string()} unusable: {error}")
    finally:
        engine.dispose()


def db_dialect(app: Flask) -> str:
    with app.app_context():
        return db.engine.dialect.name


def race(app: Flask, step: Callable[[Session], object]) -> object:
    """`step` twice at once on PostgreSQL: in a first session, then in a second (another thread)
    that must wait behind the first's locks; the first commits once the second waits. Returns
    what the second `step` returned after its commit, or the exception it raised."""
    if db_dialect(app) != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no race to lose")
    with app.app_context():
        first, second = db.sessionmaker(), db.sessionmaker()
    outcome: list[object] = []

    def late() -> None:
        try:
            result = step(second)
            second.commit()
            outcome.append(result)
        except Exception as error:
            outcome.append(error)

    with first, second:
        step(first)
        racing = threading.Thread(target=late)
        racing.start()

        def second_waits() -> bool:
            # PostgreSQL keeps the first read of pg_stat_activity for the rest of a transaction:
            # without dropping it, a first look before the second session waited is seen again
            # and again, and the race never starts.
            first.execute(text("SELECT pg_stat_clear_snapshot()"))
            return bool(
                first.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                )
            )

        wait_until(
            lambda: not racing.is_alive() or second_waits(),
            "the second transaction to wait on the first one's lock, or to finish",
        )
        first.commit()
        racing.join(timeout=PATIENCE)
    (result,) = outcome
    return result
