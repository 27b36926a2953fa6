"""Database connection settings that every engine of the project needs, installed by `tune`."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.pool import ConnectionPoolEntry

# How long a statement waits for another connection's write lock before "database is locked".
SQLITE_LOCK_WAIT = 10.0
# How often it tries meanwhile: every try is as likely to win as a newcomer's.
SQLITE_LOCK_RETRY = 0.001


def _configure_sqlite(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    """SQLite enforces foreign keys only when asked, and needs WAL to let readers and a writer
    (the web, the worker and the clock) work at once. A writer that finds the lock taken waits
    in `_waiting_for_the_lock`, so SQLite's own busy handler is off (busy_timeout 0)."""
    cursor: Any = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA busy_timeout = 0")
    cursor.close()


def _waiting_for_the_lock(cursor: DBAPICursor, run: Callable[[], object]) -> bool | None:
    """Run a statement on SQLite, retrying every millisecond while the database is locked.

    SQLite's busy handler sleeps in growing steps (1, 2, 5 … 25, 50, then 100 ms), so a writer
    that has waited a while tries only every 100 ms and loses the lock to ones that came later:
    with two web workers confirming at 200 events/s that was a p99 of 100 ms and more
    (bench/webhook.py). The driver begins a transaction just before its first write (pysqlite's
    default, kept here: no explicit BEGIN or SAVEPOINT opens one earlier), so in WAL mode only a
    statement that begins a transaction, or runs outside one, can find the lock taken; retrying
    it is safe, it had not done anything yet.
    Returns None for other databases (SQLAlchemy then executes as usual).
    """
    if not isinstance(cursor, sqlite3.Cursor):
        return None
    connection = cursor.connection
    if connection.in_transaction:
        run()
        return True
    deadline = time.monotonic() + SQLITE_LOCK_WAIT
    while True:
        try:
            run()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            if connection.in_transaction:
                connection.rollback()  # the BEGIN the driver issued for this statement
            time.sleep(SQLITE_LOCK_RETRY)
        else:
            return True


def _execute(cursor: DBAPICursor, statement: str, parameters: Any, context: Any) -> bool | None:
    return _waiting_for_the_lock(cursor, lambda: cursor.execute(statement, parameters))


def _execute_no_params(cursor: DBAPICursor, statement: str, context: Any) -> bool | None:
    return _waiting_for_the_lock(cursor, lambda: cursor.execute(statement))


def _executemany(cursor: DBAPICursor, statement: str, parameters: Any, context: Any) -> bool | None:
    return _waiting_for_the_lock(cursor, lambda: cursor.executemany(statement, parameters))


def tune(engine: Engine) -> Engine:
    """Install the SQLite settings above on `engine`; other databases need none. Every process
    calls it on the engine it makes (the app factory, the scripts under bench/), so nothing
    changes an engine by being imported."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "do_execute", _execute)
        event.listen(engine, "do_execute_no_params", _execute_no_params)
        event.listen(engine, "do_executemany", _executemany)
    return engine


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL, whatever spelling the platform hands us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
