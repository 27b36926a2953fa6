"""The backup file: a gzip'd tar of the database copy, the uploads and a manifest.

    database/kairan.sqlite3   SQLite's online backup
    database/kairan.dump      or `pg_dump --format=custom`
    uploads/…                 every attachment, as stored
    manifest.json             last: format, when, schema revision, rows per table, and each
                              other member's size and SHA-256

Members are hashed as they are written and as they are read, so checking an archive reads it
once. BackupError, the one error every backup step raises, lives here too.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

FORMAT = "kairan-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/kairan.sqlite3"
POSTGRES_MEMBER = "database/kairan.dump"
UPLOADS = "uploads"
# Files being written by the app (`compose.add_attachment` renames them when complete).
PARTIAL_SUFFIX = ".part"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Why a backup, a verification or a restore cannot go on: one bilingual line."""

    def __init__(self, japanese: str, english: str) -> None:
        super().__init__(f"{japanese} / {english}")
        self.japanese = japanese
        self.english = english


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str  # ISO 8601, UTC
    dialect: str  # sqlite or postgresql
    schema_revision: str | None
    tables: dict[str, int]  # rows per table, alembic_version included
    files: dict[str, FileEntry]  # every member but the manifest
    format: str = FORMAT
    version: int = VERSION

    @property
    def database_member(self) -> str:
        return SQLITE_MEMBER if self.dialect == "sqlite" else POSTGRES_MEMBER

    @property
    def uploads(self) -> list[str]:
        return [name for name in self.files if name.startswith(f"{UPLOADS}/")]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> bytes:
        document = {
            "format": self.format,
            "version": self.version,
            "created_at": self.created_at,
            "database": {
                "dialect": self.dialect,
                "member": self.database_member,
                "schema_revision": self.schema_revision,
                "tables": self.tables,
            },
            "files": {
                name: {"size": entry.size, "sha256": entry.sha256}
                for name, entry in self.files.items()
            },
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Raises BackupError for anything that is not a manifest this version understands."""
        try:
            document = json.loads(data)
            if document.get("format") != FORMAT:
                raise ValueError("format")
            if document.get("version") != VERSION:
                raise BackupError(
                    f"このバックアップの形式（版 {document.get('version')}）は読めません",
                    f"This backup's format version {document.get('version')} is not supported",
                )
            database = document["database"]
            manifest = cls(
                created_at=str(document["created_at"]),
                dialect=str(database["dialect"]),
                schema_revision=database["schema_revision"],
                tables={str(name): int(rows) for name, rows in database["tables"].items()},
                files={
                    str(name): FileEntry(int(entry["size"]), str(entry["sha256"]))
                    for name, entry in document["files"].items()
                },
            )
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise not_a_backup() from None
        if manifest.dialect not in ("sqlite", "postgresql"):
            raise not_a_backup()
        return manifest


class Writer:
    """The archive being written: members hashed as they go in, the manifest last.

    Readable by its owner only: it holds every resident's data."""

    def __init__(self, path: Path) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._raw = os.fdopen(descriptor, "wb")
        self._tar = tarfile.open(fileobj=self._raw, mode="w:gz")  # noqa: SIM115 - closed in close()
        self.files: dict[str, FileEntry] = {}

    def add(self, name: str, path: Path) -> None:
        """Add one file, hashing exactly the bytes that go into the archive."""
        with path.open("rb") as source:
            info = tarfile.TarInfo(name)
            info.size = os.fstat(source.fileno()).st_size
            info.mode = 0o600
            hashing = _Hashing(source)
            self._tar.addfile(info, hashing)
        self.files[name] = FileEntry(info.size, hashing.digest.hexdigest())

    def add_uploads(self, upload_dir: Path) -> None:
        for path, name in _upload_files(upload_dir):
            self.add(name, path)

    def finish(self, manifest: Manifest) -> None:
        data = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mode = 0o600
        self._tar.addfile(info, io.BytesIO(data))
        self.close()

    def close(self) -> None:
        self._tar.close()
        self._raw.close()


def _upload_files(upload_dir: Path) -> Iterator[tuple[Path, str]]:
    if not upload_dir.is_dir():
        return
    for path in sorted(upload_dir.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.endswith(PARTIAL_SUFFIX):
            continue
        yield path, str(PurePosixPath(UPLOADS, *path.relative_to(upload_dir).parts))


class _Hashing(io.RawIOBase):
    """A reader that hashes what is read from it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


@dataclass
class Contents:
    """What reading an archive found: each member's size and hash, the manifest's bytes, and
    entries that have no place in a backup."""

    seen: dict[str, FileEntry]
    manifest: bytes | None
    strange: list[str]


def read(archive: Path, work: Path, *, keep_uploads: bool) -> Contents:
    """Read the archive once, hashing every member; the database copy (and the uploads, for a
    restore) are left in `work` under their member names. Raises BackupError for a file that
    is missing or not a readable archive."""
    contents = Contents({}, None, [])
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                name = member.name
                source = tar.extractfile(member) if member.isfile() and _safe(name) else None
                if source is None:
                    contents.strange.append(name)
                elif name == MANIFEST:
                    contents.manifest = source.read()
                else:
                    kept = name in (SQLITE_MEMBER, POSTGRES_MEMBER) or (
                        keep_uploads and name.startswith(f"{UPLOADS}/")
                    )
                    contents.seen[name] = _stream(source, work / name if kept else None)
    except FileNotFoundError:
        raise BackupError(f"{archive} がありません", f"{archive} does not exist") from None
    except (tarfile.TarError, OSError, EOFError):
        raise not_a_backup() from None
    return contents


def _stream(source: IO[bytes], copy_to: Path | None) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with contextlib.ExitStack() as stack:
        sink = None
        if copy_to is not None:
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            sink = stack.enter_context(copy_to.open("wb"))
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    return FileEntry(size, digest.hexdigest())


def place(extracted: Path, upload_dir: Path, name: str) -> None:
    """One upload into the uploads directory, complete or not at all (renamed into place)."""
    relative = PurePosixPath(name).relative_to(UPLOADS)
    destination = upload_dir.joinpath(*relative.parts)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + PARTIAL_SUFFIX)
    shutil.copyfile(extracted, partial)
    partial.replace(destination)


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name == path.as_posix()


def not_a_backup() -> BackupError:
    return BackupError(
        "Kairan のバックアップとして読めません（壊れているか、別のファイルです）",
        "Not readable as a Kairan backup (damaged, or another kind of file)",
    )
