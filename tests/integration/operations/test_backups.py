"""`kairan backup create|verify|restore` on SQLite and PostgreSQL (issue #21, item 3): a populated
database and its uploads go into one archive and come back equal, table by table and file by
file; a damaged archive is named and never restored; a database holding data is not overwritten
unless the command is told to."""

from __future__ import annotations

import io
import logging
import tarfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.cli import ScriptInfo
from PIL import Image
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from broadcasts.composing import attachments
from linebot_app import create_app
from linebot_app.cli import cli
from linebot_app.extensions import db
from models import Association, Circular, Resident
from tests.helpers.settings import make_settings
from tests.helpers.stats import Sent

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
Kairan = Callable[..., Result]


def kairan(url: str, uploads: Path, *args: str) -> Result:
    """`kairan <args>` with DATABASE_URL and KAIRAN_UPLOAD_DIR as a city would set them.

    Run in the command's own app context: Flask's commands use the app whose context is
    current, and the test's `session` fixture holds the test app's."""
    app = create_app(make_settings(DATABASE_URL=url, KAIRAN_UPLOAD_DIR=str(uploads)))
    try:
        with app.app_context():
            return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))
    finally:
        # After the context has ended and returned its session's connection to the pool.
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind: where the backup is restored."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    source = make_url(database_url)
    name = f"{source.database}_restored"
    server = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def populated(
    sent: Sent,
    session: Session,
    uploads: Path,
    make_circular: Callable[..., Circular],
) -> Sent:
    """The statistics fixture's districts, residents, circular, deliveries and confirmations,
    plus a draft with a PDF and a photo in the uploads directory."""
    draft = make_circular(author=sent.admin, title="防災訓練のお知らせ")
    attachments.add_attachment(session, draft, "案内.pdf", PDF, uploads)
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "#2E7D32").save(photo, format="PNG")
    attachments.add_attachment(session, draft, "集合場所.png", photo.getvalue(), uploads)
    session.commit()
    return sent


def every_row(url: str) -> dict[str, list[Any]]:
    """Every row of every table, in primary-key order, as the database returns them."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                table.name: connection.execute(
                    select(table).order_by(*(table.primary_key.columns or table.columns))
                ).all()
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_a_backup_restores_every_table_and_upload(
    populated: Sent, database_url: str, empty_database: str, uploads: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "kairan-2026-12-01.tar.gz"
    created = kairan(database_url, uploads, "backup", "create", str(archive))
    assert created.exit_code == 0, created.output
    assert "バックアップを作りました" in created.output
    assert "添付 2 件" in created.output
    # Personal data: only its owner may read the archive.
    assert archive.stat().st_mode & 0o777 == 0o600

    verified = kairan(database_url, uploads, "backup", "verify", str(archive))
    assert verified.exit_code == 0, verified.output
    assert "バックアップは正常です" in verified.output

    restored_uploads = tmp_path / "restored-uploads"
    restored = kairan(empty_database, restored_uploads, "backup", "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "復元しました" in restored.output

    before, after = every_row(database_url), every_row(empty_database)
    assert before.keys() == after.keys()
    for name in before:
        assert after[name] == before[name], f"table {name} differs after the round trip"
    assert sum(map(len, before.values())) > 50  # the comparison compared something
    assert files_under(restored_uploads) == files_under(uploads)
    assert len(files_under(uploads)) == 2

    # The restored database is one Kairan can run on as it is.
    assert kairan(empty_database, restored_uploads, "circulars", "list").exit_code == 0


def test_restore_refuses_a_database_holding_data_unless_forced(
    populated: Sent, database_url: str, empty_database: str, uploads: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert kairan(database_url, uploads, "backup", "create", str(archive)).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    assert kairan(empty_database, elsewhere, "backup", "restore", str(archive)).exit_code == 0
    # Kairan goes on in the restored database: one more resident.
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        association_id = connection.scalar(select(Association.id).limit(1))
        connection.execute(
            insert(Resident).values(
                line_user_id="U" + "e" * 32,
                association_id=association_id,
                display_name="あとから登録",
                registered_at=datetime(2026, 12, 2, tzinfo=UTC),
            )
        )
    engine.dispose()
    changed = every_row(empty_database)

    refused = kairan(empty_database, elsewhere, "backup", "restore", str(archive))
    assert refused.exit_code == 1
    (line,) = refused.output.strip().splitlines()
    assert line.startswith("復元先のデータベースにはすでにデータがあります（")
    assert "--force" in line and " / The target database is not empty" in line
    assert every_row(empty_database) == changed  # nothing was touched

    forced = kairan(empty_database, elsewhere, "backup", "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert every_row(empty_database) == every_row(database_url)


def test_a_database_with_only_its_schema_counts_as_empty(
    populated: Sent, database_url: str, empty_database: str, uploads: Path, tmp_path: Path
) -> None:
    """`kairan db upgrade` first, as a city might before restoring: no rows, no refusal."""
    archive = tmp_path / "backup.tar.gz"
    assert kairan(database_url, uploads, "backup", "create", str(archive)).exit_code == 0
    assert kairan(empty_database, uploads, "db", "upgrade").exit_code == 0
    restored = kairan(empty_database, tmp_path / "u", "backup", "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert every_row(empty_database) == every_row(database_url)


def rewrite(archive: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """The archive with each member passed through `change` (None drops it), manifest kept."""
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            data = tar.extractfile(member)
            assert data is not None
            members.append((member, data.read()))
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members:
            changed = change(member.name, data)
            if changed is None:
                continue
            member.size = len(changed)
            tar.addfile(member, io.BytesIO(changed))


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda name, data: data[:-1] + b"!" if name.endswith(".pdf") else data, "チェックサム"),
        (lambda name, data: None if name.startswith("database/") else data, "がありません"),
        (lambda name, data: None if name == "manifest.json" else data, "読めません"),
    ],
    ids=["altered upload", "database missing", "manifest missing"],
)
def test_a_damaged_archive_is_named_and_never_restored(
    populated: Sent,
    database_url: str,
    empty_database: str,
    uploads: Path,
    tmp_path: Path,
    damage: Callable[[str, bytes], bytes | None],
    named: str,
) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert kairan(database_url, uploads, "backup", "create", str(archive)).exit_code == 0
    rewrite(archive, damage)

    verified = kairan(database_url, uploads, "backup", "verify", str(archive))
    assert verified.exit_code == 1
    problems = [line for line in verified.output.splitlines() if line.startswith("NG")]
    assert problems and named in problems[0]
    assert "このバックアップは使えません" in verified.output

    restored_uploads = tmp_path / "restored-uploads"
    refused = kairan(empty_database, restored_uploads, "backup", "restore", str(archive))
    assert refused.exit_code == 1
    assert "何も変えていません" in refused.output
    assert not any(rows for rows in every_row(empty_database).values())
    assert not restored_uploads.exists()


def test_a_truncated_archive_is_named(
    populated: Sent, database_url: str, uploads: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar.gz"
    assert kairan(database_url, uploads, "backup", "create", str(archive)).exit_code == 0
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    verified = kairan(database_url, uploads, "backup", "verify", str(archive))
    assert verified.exit_code == 1
    assert "Kairan のバックアップとして読めません" in verified.output


def test_create_never_replaces_a_file(
    populated: Sent, database_url: str, uploads: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tar.gz"
    archive.write_bytes(b"yesterday's backup")
    refused = kairan(database_url, uploads, "backup", "create", str(archive))
    assert refused.exit_code == 1
    assert "はもうあります" in refused.output
    assert archive.read_bytes() == b"yesterday's backup"
    # Nothing half-written is left beside it either.
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".kairan")] == []


def test_a_backup_taken_while_residents_register_is_consistent(
    populated: Sent,
    database_url: str,
    empty_database: str,
    uploads: Path,
    tmp_path: Path,
) -> None:
    """Rows keep arriving while the backup runs: the manifest's counts are those of the copy
    (restore checks every table's rows against them), whatever moment the copy caught."""
    stop = threading.Event()
    written: list[int] = []
    engine = create_engine(database_url)
    with engine.connect() as connection:
        association_id = connection.scalar(select(Association.id).limit(1))

    def register() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with engine.begin() as connection:
                connection.execute(
                    insert(Resident).values(
                        line_user_id=f"U{n:032x}",
                        association_id=association_id,
                        display_name=f"登録中{n}",
                        registered_at=datetime(2026, 12, 2, tzinfo=UTC),
                    )
                )
            written.append(n)

    writer = threading.Thread(target=register)
    writer.start()
    archive = tmp_path / "backup.tar.gz"
    try:
        created = kairan(database_url, uploads, "backup", "create", str(archive))
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    assert created.exit_code == 0, created.output
    restored = kairan(empty_database, tmp_path / "u", "backup", "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert written  # the writer did write during the backup


def test_backups_log_no_personal_data(
    populated: Sent,
    database_url: str,
    empty_database: str,
    uploads: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    archive = tmp_path / "backup.tar.gz"
    with caplog.at_level(logging.DEBUG):
        results = [
            kairan(database_url, uploads, "backup", "create", str(archive)),
            kairan(database_url, uploads, "backup", "verify", str(archive)),
            kairan(empty_database, tmp_path / "u", "backup", "restore", str(archive)),
        ]
    assert [result.exit_code for result in results] == [0, 0, 0]
    said = caplog.text + "".join(result.output for result in results)
    assert "backup written" in caplog.text and "backup restored" in caplog.text
    for resident in every_row(database_url)["residents"]:
        assert resident.line_user_id not in said
        assert resident.display_name not in said
    for stored in files_under(uploads):
        assert stored not in said
    password = make_url(database_url).password
    assert password is None or password not in said


def test_an_entry_outside_the_archive_is_refused(
    populated: Sent, database_url: str, empty_database: str, uploads: Path, tmp_path: Path
) -> None:
    """A member named to land outside the uploads directory is named, and nothing is written."""
    archive = tmp_path / "backup.tar.gz"
    assert kairan(database_url, uploads, "backup", "create", str(archive)).exit_code == 0
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            data = tar.extractfile(member)
            assert data is not None
            members.append((member, data.read()))
    with tarfile.open(archive, "w:gz") as tar:
        escape = tarfile.TarInfo("uploads/../../escaped.txt")
        escape.size = 4
        tar.addfile(escape, io.BytesIO(b"evil"))
        for member, data in members:
            tar.addfile(member, io.BytesIO(data))

    verified = kairan(database_url, uploads, "backup", "verify", str(archive))
    assert verified.exit_code == 1
    assert "想定外の項目があります（uploads/../../escaped.txt）" in verified.output
    refused = kairan(
        empty_database, tmp_path / "restored" / "uploads", "backup", "restore", str(archive)
    )
    assert refused.exit_code == 1
    assert not (tmp_path / "escaped.txt").exists()
    assert not any(rows for rows in every_row(empty_database).values())
