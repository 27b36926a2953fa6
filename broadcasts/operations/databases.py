"""The database side of backups: a consistent copy, its rows per table, and putting it back.

SQLite: the sqlite3 module's online backup API, both ways (a page-by-page copy under one read
lock; restoring replaces the target's pages in one transaction). PostgreSQL: `pg_dump
--format=custom` inside a snapshot exported by the transaction that counts the rows, and
`pg_restore` in one transaction into a schema emptied first.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Connection, Engine, String, column, func, inspect, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import URL

from broadcasts.operations.archive import BackupError, Manifest

MIGRATIONS_TABLE = "alembic_version"


def copy_sqlite(engine: Engine, copy: Path) -> tuple[str | None, dict[str, int]]:
    """SQLite's online backup into `copy`: the database as of one moment, however busy. Its
    schema revision and rows per table."""
    source_path = _sqlite_path(engine.url)
    if not source_path.exists():
        raise _no_schema()
    source = sqlite3.connect(source_path)
    destination = sqlite3.connect(copy)
    try:
        source.backup(destination)
        # One self-contained file: the copy need not be in WAL mode as the live database is.
        destination.execute("PRAGMA journal_mode = DELETE")
        tables = _count_sqlite_rows(destination)
        if MIGRATIONS_TABLE not in tables:
            raise _no_schema()
        versions = [row[0] for row in destination.execute(_VERSIONS)]
    finally:
        destination.close()
        source.close()
    return ",".join(sorted(versions)) or None, tables


_VERSIONS = "SELECT version_num FROM alembic_version"


def _count_sqlite_rows(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows per table with the sqlite3 module itself: SQLAlchemy's engines switch every SQLite
    file they open to WAL (models.session), which a copy must not be."""
    names = sorted(
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    return {name: _count_sqlite_table(connection, name) for name in names}


def _count_sqlite_table(connection: sqlite3.Connection, name: str) -> int:
    quoted = '"' + name.replace('"', '""') + '"'
    # A table name from SQLite's own catalogue, quoted as an identifier.
    (rows,) = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()  # noqa: S608
    return int(rows)


def dump_postgres(engine: Engine, dump: Path) -> tuple[str | None, dict[str, int]]:
    """`pg_dump` into `dump` in a snapshot this transaction exports: the rows counted here are
    the rows the dump holds. Its schema revision and rows per table."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            revision, tables = _revision(connection), count_rows(connection)
            # The exporting transaction must stay open while pg_dump imports its snapshot.
            _run(
                "pg_dump",
                "--format=custom",
                f"--file={dump}",
                f"--snapshot={snapshot}",
                "--no-password",
                engine.url,
            )
    return revision, tables


def check_copy(manifest: Manifest, database: Path) -> list[str]:
    """Problems with an archive's database copy: SQLite's integrity check and rows per table,
    or pg_restore reading the whole dump's table of contents."""
    if manifest.dialect == "sqlite":
        return _check_sqlite(manifest, database)
    try:
        _run("pg_restore", "--list", f"--file={os.devnull}", str(database))
    except BackupError as error:
        return [str(error)]
    return []


def _check_sqlite(manifest: Manifest, database: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
        counted = _count_sqlite_rows(connection) if verdict == "ok" else {}
    except sqlite3.DatabaseError:
        verdict = "not a database"
    finally:
        connection.close()
    if verdict != "ok":
        return [
            "データベースのコピーが壊れています（SQLite の整合性検査）"
            " / The database copy is damaged (SQLite's integrity check)"
        ]
    if counted != manifest.tables:
        return [
            "データベースのコピーの行数がマニフェストと合いません"
            " / The database copy's rows per table differ from the manifest"
        ]
    return []


def rows_in(engine: Engine) -> dict[str, int]:
    """Rows per table of a database, the schema's own bookkeeping (alembic_version) left out."""
    with engine.connect() as connection:
        counted = count_rows(connection)
    counted.pop(MIGRATIONS_TABLE, None)
    return counted


def restore_sqlite(engine: Engine, database: Path) -> None:
    """The backup API the other way: the target's pages are replaced in one transaction."""
    target = _sqlite_path(engine.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    engine.dispose()  # no pooled connection of ours holds the old database open
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def restore_postgres(engine: Engine, dump: Path) -> None:
    """Empty the schema, then pg_restore in one transaction: a restore that fails leaves the
    database empty, never half-restored."""
    with engine.begin() as connection:
        _drop_everything(connection)
    _run(
        "pg_restore",
        "--no-owner",
        "--no-acl",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        "--dbname",
        engine.url,
        str(dump),
    )
    engine.dispose()


# What a schema holds that a dump recreates; objects that belong to an extension stay its own.
_RELATIONS_QUERY = """
SELECT c.relkind, quote_ident(c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relkind = 'S', c.relkind NOT IN ('v', 'm')
"""

_ROUTINES_QUERY = """
SELECT p.oid::regprocedure::text FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""

_TYPES_QUERY = """
SELECT t.typtype, t.oid::regtype::text FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
"""

_RELATION_KINDS = {
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "r": "TABLE",
    "p": "TABLE",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
}


def _drop_everything(connection: Connection) -> None:
    """Every view, table, sequence, function and type of the current schema, in one
    transaction, so that the dump's objects are created afresh and nothing else remains.
    CASCADE takes what depends on each; IF EXISTS skips what an earlier CASCADE took."""
    for kind, name in connection.execute(text(_RELATIONS_QUERY)).all():
        _drop(connection, _RELATION_KINDS[kind], name)
    for signature in connection.scalars(text(_ROUTINES_QUERY)).all():
        _drop(connection, "ROUTINE", signature)
    for kind, name in connection.execute(text(_TYPES_QUERY)).all():
        _drop(connection, "DOMAIN" if kind == "d" else "TYPE", name)


def _drop(connection: Connection, kind: str, name: str) -> None:
    # `name` comes from PostgreSQL's catalogue, quoted by PostgreSQL (quote_ident, regtype,
    # regprocedure); `kind` from the fixed table above.
    connection.execute(text(f"DROP {kind} IF EXISTS {name} CASCADE"))


def count_rows(connection: Connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {
        name: int(connection.scalar(select(func.count()).select_from(table_clause(name))) or 0)
        for name in names
    }


def _revision(connection: Connection) -> str | None:
    if MIGRATIONS_TABLE not in inspect(connection).get_table_names():
        raise _no_schema()
    versions = connection.scalars(
        select(column("version_num", String)).select_from(table_clause(MIGRATIONS_TABLE))
    ).all()
    return ",".join(sorted(versions)) or None


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(
            "メモリ上の SQLite はバックアップできません", "An in-memory SQLite cannot be backed up"
        )
    return Path(url.database)


def _run(program: str, *arguments: str | URL) -> None:
    """Run pg_dump or pg_restore. The password goes in the environment, never on the command
    line (where `ps` shows it); what the tool prints is reported without the connection."""
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(
            f"{program} が見つかりません。PostgreSQL のクライアント（postgresql-client、"
            "サーバーと同じかより新しい版）を入れてください",
            f"{program} not found: install the PostgreSQL client tools (postgresql-client, the"
            " server's major version or newer)",
        )
    environment = dict(os.environ)
    command: list[str] = [executable]
    for argument in arguments:
        if isinstance(argument, URL):
            if argument.password is not None:
                environment["PGPASSWORD"] = str(argument.password)
            command.append(_libpq_url(argument))
        else:
            command.append(argument)
    finished = subprocess.run(  # noqa: S603 - a fixed program with arguments we built
        command, env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        said = next((line for line in finished.stderr.splitlines() if line.strip()), "no message")[
            :300
        ]
        raise BackupError(f"{program} が失敗しました（{said}）", f"{program} failed ({said})")


def _libpq_url(url: URL) -> str:
    """postgresql://user@host:port/database?… for libpq: no driver name, no password."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _no_schema() -> BackupError:
    return BackupError(
        "データベースにスキーマがありません（`kairan db upgrade` の前？）",
        "The database has no schema (was `kairan db upgrade` run?)",
    )
