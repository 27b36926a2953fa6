"""Database connection settings that every engine of the project needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    """SQLite enforces foreign keys only when asked, and needs WAL to let readers and a writer
    (the web, the worker and the clock) work at once; busy_timeout makes a writer wait for the
    lock instead of failing at once."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor: Any = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL, whatever spelling the platform hands us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
