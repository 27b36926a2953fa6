"""Backups: create, verify and restore one archive of the database and the uploaded files.

The rows per table in the manifest are counted in the same snapshot the database copy is taken
from, so a restore is checked against them table by table. The database is copied before the
uploads: an attachment's file is written before its row commits, so every file the copy refers
to is already on disk when the uploads are read.

Nothing here logs or prints a row, an upload's file name, a password or a token.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from broadcasts.core.clock import Clock
from broadcasts.operations import archive, databases
from broadcasts.operations.archive import BackupError, Manifest

log = logging.getLogger(__name__)

__all__ = ["BackupError", "Manifest", "Verification", "create", "describe", "restore", "verify"]


@dataclass
class Verification:
    manifest: Manifest | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.problems


def create(engine: Engine, upload_dir: Path, target: Path, clock: Clock) -> Manifest:
    """Write the archive to `target` (refusing to replace a file), readable by its owner only.

    It is written beside `target` under another name and renamed when complete: a backup that
    fails half-way leaves no file that looks like a backup."""
    if target.exists():
        raise BackupError(
            f"{target} はもうあります。別の名前にしてください",
            f"{target} exists already: choose another name",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    created_at = clock.now().isoformat()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".kairan-backup-") as work:
        scratch = Path(work)
        if engine.dialect.name == "sqlite":
            member, copy = archive.SQLITE_MEMBER, scratch / "kairan.sqlite3"
            revision, tables = databases.copy_sqlite(engine, copy)
        elif engine.dialect.name == "postgresql":
            member, copy = archive.POSTGRES_MEMBER, scratch / "kairan.dump"
            revision, tables = databases.dump_postgres(engine, copy)
        else:
            raise BackupError(
                f"{engine.dialect.name} のバックアップはできません",
                f"Cannot back up a {engine.dialect.name} database",
            )
        partial = scratch / "archive.tar.gz"
        writer = archive.Writer(partial)
        try:
            writer.add(member, copy)
            writer.add_uploads(upload_dir)
            manifest = Manifest(created_at, engine.dialect.name, revision, tables, writer.files)
            writer.finish(manifest)
        finally:
            writer.close()
        partial.replace(target)
    log.info(
        "backup written: %s, %d tables, %d rows, %d uploads",
        manifest.dialect,
        len(manifest.tables),
        manifest.rows,
        len(manifest.uploads),
    )
    return manifest


def verify(path: Path) -> Verification:
    """Every member against the manifest, then the database copy itself: SQLite's integrity
    check and its rows per table, or `pg_restore --list` reading the whole dump."""
    with tempfile.TemporaryDirectory(prefix="kairan-verify-") as work:
        return _verify(path, Path(work), keep_uploads=False)


def _verify(path: Path, work: Path, *, keep_uploads: bool) -> Verification:
    try:
        contents = archive.read(path, work, keep_uploads=keep_uploads)
    except BackupError as error:
        if not path.exists():
            raise
        return Verification(None, [str(error)])
    if contents.manifest is None:
        return Verification(None, [str(archive.not_a_backup())])
    try:
        manifest = Manifest.from_json(contents.manifest)
    except BackupError as error:
        return Verification(None, [str(error)])
    problems = [
        f"アーカイブに想定外の項目があります（{name}） / The archive holds an unexpected entry"
        f" ({name})"
        for name in contents.strange
    ]
    for name, entry in manifest.files.items():
        found = contents.seen.get(name)
        if found is None:
            problems.append(f"{name} がありません / {name} is missing")
        elif found != entry:
            problems.append(
                f"{name} のチェックサムが合いません（壊れているか、書き換えられています）"
                f" / {name} does not match its checksum (damaged or altered)"
            )
    problems.extend(
        f"{name} はマニフェストにありません / {name} is not in the manifest"
        for name in sorted(contents.seen.keys() - manifest.files.keys())
    )
    if manifest.database_member not in manifest.files:
        problems.append(
            "データベースのコピーがありません / The archive holds no copy of the database"
        )
    if not problems:
        problems.extend(databases.check_copy(manifest, work / manifest.database_member))
    return Verification(manifest, problems)


def restore(path: Path, engine: Engine, upload_dir: Path, *, force: bool = False) -> Manifest:
    """Put the archive's database and uploads in place, after verifying it whole.

    A database holding any row is refused unless `force`; then everything in it is replaced.
    Stop the web, worker and clock processes first: they would write into a database being
    replaced."""
    with tempfile.TemporaryDirectory(prefix="kairan-restore-") as work:
        scratch = Path(work)
        checked = _verify(path, scratch, keep_uploads=True)
        if not checked.ok or checked.manifest is None:
            raise BackupError(
                f"バックアップの確認で問題が {len(checked.problems)} 件見つかったので、何も変えて"
                f"いません（`kairan backup verify {path}` で内容を確かめてください）",
                f"The backup did not verify ({len(checked.problems)} problem(s)); nothing was"
                f" changed (see `kairan backup verify {path}`)",
            )
        manifest = checked.manifest
        if manifest.dialect != engine.dialect.name:
            raise BackupError(
                f"{manifest.dialect} のバックアップは {engine.dialect.name} には戻せません"
                "（同じ種類のデータベースに戻してください）",
                f"A {manifest.dialect} backup cannot be restored into {engine.dialect.name}",
            )
        held = sum(databases.rows_in(engine).values())
        if held and not force:
            raise BackupError(
                f"復元先のデータベースにはすでにデータがあります（{held:,} 行）。"
                "空のデータベースを指定するか、消して上書きしてよいなら --force を付けてください",
                f"The target database is not empty ({held:,} rows): use an empty database, or"
                " add --force to replace everything in it",
            )
        copy = scratch / manifest.database_member
        if manifest.dialect == "sqlite":
            databases.restore_sqlite(engine, copy)
        else:
            databases.restore_postgres(engine, copy)
        for name in manifest.uploads:
            archive.place(scratch / name, upload_dir, name)
    with engine.connect() as connection:
        restored = databases.count_rows(connection)
    if restored != manifest.tables:
        raise BackupError(
            "復元したデータベースの行数がバックアップと合いません",
            "The restored database's rows per table differ from the backup",
        )
    log.info(
        "backup restored: %s, %d tables, %d rows, %d uploads",
        manifest.dialect,
        len(manifest.tables),
        manifest.rows,
        len(manifest.uploads),
    )
    return manifest


def describe(manifest: Manifest) -> str:
    """One bilingual line about a backup, for the commands' output."""
    revision = manifest.schema_revision or "-"
    return (
        f"{manifest.created_at} 作成、{manifest.dialect}、スキーマ {revision}、"
        f"テーブル {len(manifest.tables)}、行 {manifest.rows:,}、添付 {len(manifest.uploads)} 件"
        f" / made {manifest.created_at}, {manifest.dialect}, schema {revision},"
        f" {len(manifest.tables)} tables, {manifest.rows:,} rows, {len(manifest.uploads)} uploads"
    )
