"""Importing the city's areas (districts, associations, groups) from a CSV saved by Excel.

The file is read once, as a stream (`read`), and written in bulk a batch at a time
(`import_areas`), all inside the caller's one transaction: a file with any bad row is read to its
end, every bad row is reported with its line number, and the caller rolls back, so it changes
nothing. Memory stays flat whatever the file's size (300,000 rows: docs/BENCHMARKS.md).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, any_, bindparam, insert, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import Association, District, DistrictStatus, Group

# Column names in English, with the Japanese headings a city clerk may type instead.
COLUMNS: dict[str, tuple[str, ...]] = {
    "district_code": ("校区コード",),
    "district_name": ("校区名", "校区"),
    "district_kana": ("校区よみ", "校区ふりがな", "校区かな"),
    "association_code": ("自治会コード",),
    "association_name": ("自治会名", "自治会"),
    "association_kana": ("自治会よみ", "自治会ふりがな", "自治会かな"),
    "households": ("世帯数",),
    "paper_households": ("紙の世帯数", "紙回覧世帯数"),
    "groups": ("班",),
}
OPTIONAL_COLUMNS = {"paper_households", "groups"}
GROUP_SEPARATORS = re.compile(r"[;；、|｜]")
CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Hiragana, katakana, the long-vowel mark, the middle dot and spaces.
KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\u3000 ]+")


class AreaFileError(Exception):
    """The file cannot be imported; `problems` lists every reason, each with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class AreaRow:
    line: int
    district_code: str
    district_name: str
    district_kana: str
    association_code: str
    association_name: str
    association_kana: str
    households: int
    paper_households: int
    groups: tuple[str, ...]


KINDS = ("districts", "associations", "groups")


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


# A source is a file on disk, or the bytes of a small one (tests, the demo's sample).
Source = Path | bytes
# Bytes read at a time while finding the encoding; rows written per bulk statement.
CHUNK_BYTES = 1 << 16
BATCH_ROWS = 1000
UNKNOWN_ENCODING = (
    "文字コードを判別できません (UTF-8 か Shift_JIS で保存してください)"
    " / unknown encoding: save as UTF-8 or Shift_JIS"
)


def _open(source: Source) -> BinaryIO:
    return source.open("rb") if isinstance(source, Path) else io.BytesIO(source)


def encoding_of(source: Source) -> str:
    """UTF-8 (with or without the BOM Excel writes) or else Shift_JIS/CP932 (Excel's "CSV").

    A file is UTF-8 if it decodes as UTF-8 from end to end: Japanese text in CP932 practically
    never does. Decoded a chunk at a time, so a big file is never held whole."""
    with _open(source) as file:
        if file.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        for encoding in ("utf-8", "cp932"):
            file.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := file.read(CHUNK_BYTES):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    raise AreaFileError([UNKNOWN_ENCODING])


def records(
    source: Source, encoding: str, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for every non-blank record, the header first; `progress` gets the bytes
    read since its last call."""
    with _open(source) as file, io.TextIOWrapper(file, encoding=encoding, newline="") as text:
        reader = csv.reader(text)
        reported = 0
        while True:
            start = reader.line_num + 1  # a quoted cell may run over several lines
            try:
                record = next(reader, None)
            except csv.Error as error:
                raise AreaFileError(
                    [f"{start}行目 / line {start}: CSV として読めません / not valid CSV: {error}"]
                ) from None
            if record is None:
                break
            if progress is not None and reader.line_num % BATCH_ROWS == 0:
                position = file.tell()
                progress(position - reported)
                reported = position
            if any(cell.strip() for cell in record):
                yield start, record
        if progress is not None:
            progress(file.tell() - reported)


def read(source: Source, progress: Callable[[int], None] | None = None) -> Iterator[AreaRow]:
    """The file's good rows, as a stream; once it is read to the end, AreaFileError naming every
    problem if it had any. A caller writing as it reads must therefore be ready to undo: see
    `import_areas`. `progress` gets the bytes read since its last call."""
    lines = records(source, encoding_of(source), progress)
    first = next(lines, None)
    if first is None:
        raise AreaFileError(["ファイルが空です / the file is empty"])
    positions = _column_positions(first[1])
    problems: list[str] = []
    consistency = _Consistency()
    count = 0
    for line, record in lines:
        try:
            row = _row(line, record, positions)
        except ValueError as error:
            problems.append(f"{line}行目 / line {line}: {error}")
            continue
        if consistency.add(row):
            count += 1
            yield row
    problems.extend(consistency.problems)
    if not count and not problems:
        problems.append("データ行がありません / no data rows")
    if problems:
        raise AreaFileError(problems)


def parse(data: bytes) -> list[AreaRow]:
    """Every row of a small file held in memory, or AreaFileError naming every problem."""
    return list(read(data))


def _column_positions(header: list[str]) -> dict[str, int]:
    names = [unicodedata.normalize("NFKC", cell).strip().lower() for cell in header]
    positions: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for alias in (column, *aliases):
            if alias in names:
                positions[column] = names.index(alias)
                break
    missing = [c for c in COLUMNS if c not in positions and c not in OPTIONAL_COLUMNS]
    if missing:
        raise AreaFileError(
            [f"1行目 / line 1: 列がありません / missing columns: {', '.join(missing)}"]
        )
    return positions


def _row(line: int, record: list[str], positions: dict[str, int]) -> AreaRow:
    def cell(column: str) -> str:
        index = positions.get(column)
        if index is None or index >= len(record):
            return ""
        return unicodedata.normalize("NFKC", record[index]).strip()

    reasons: list[str] = []

    def code(column: str) -> str:
        value = cell(column)
        if not CODE.fullmatch(value):
            reasons.append(
                f"{column} は半角英数字32文字まで / must be 1–32 letters, digits, - or _"
            )
        return value

    def name(column: str) -> str:
        value = cell(column)
        if not value or len(value) > 100:
            reasons.append(f"{column} は1〜100文字 / must be 1–100 characters")
        return value

    def kana(column: str) -> str:
        value = cell(column)
        if not KANA.fullmatch(value) or len(value) > 200:
            reasons.append(f"{column} はひらがな・カタカナで / must be written in kana")
            return value
        return to_hiragana(value)

    def count(column: str) -> int:
        value = cell(column)
        if column in OPTIONAL_COLUMNS and value == "":
            return 0
        if not value.isdigit() or len(value) > 7:
            reasons.append(f"{column} は0以上の整数 / must be a whole number ≥ 0")
            return 0
        return int(value)

    row = AreaRow(
        line=line,
        district_code=code("district_code"),
        district_name=name("district_name"),
        district_kana=kana("district_kana"),
        association_code=code("association_code"),
        association_name=name("association_name"),
        association_kana=kana("association_kana"),
        households=count("households"),
        paper_households=count("paper_households"),
        groups=tuple(g.strip() for g in GROUP_SEPARATORS.split(cell("groups")) if g.strip()),
    )
    if row.paper_households > row.households:
        reasons.append("paper_households が households より多い / exceeds households")
    if len(set(row.groups)) != len(row.groups):
        reasons.append("groups に同じ班が2回あります / a group is listed twice")
    if any(len(g) > 100 for g in row.groups):
        reasons.append("groups の名前は100文字まで / group names are at most 100 characters")
    if reasons:
        raise ValueError("; ".join(reasons))
    return row


class _Consistency:
    """Rows must agree with each other: one name per district, one row per association. Keeps
    only what that needs (a line number per code), not the rows."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._districts: dict[str, tuple[str, str, int]] = {}
        self._associations: dict[str, int] = {}

    def add(self, row: AreaRow) -> bool:
        """Whether the row agrees with the rows before it."""
        problems = len(self.problems)
        name, kana, first = self._districts.setdefault(
            row.district_code, (row.district_name, row.district_kana, row.line)
        )
        if (name, kana) != (row.district_name, row.district_kana):
            self.problems.append(
                f"{row.line}行目 / line {row.line}: 校区 {row.district_code} の名前が"
                f" {first}行目と違います / district name differs from line {first}"
            )
        earlier = self._associations.setdefault(row.association_code, row.line)
        if earlier != row.line:
            self.problems.append(
                f"{row.line}行目 / line {row.line}: 自治会コード {row.association_code} が"
                f" {earlier}行目と重複 / association code repeats line {earlier}"
            )
        return len(self.problems) == problems


def to_hiragana(kana: str) -> str:
    """Readings are kept in hiragana so a resident's typed search matches either script."""
    return "".join(
        chr(ord(ch) - 0x60) if "\u30a1" <= ch <= "\u30f6" else ch for ch in kana
    ).replace("\u3000", " ")


def import_areas(session: Session, rows: Iterable[AreaRow]) -> ImportReport:
    """Create or update every area named in `rows`; areas the file does not name are kept
    (residents may be registered in them). Writes in bulk, `BATCH_ROWS` rows a statement, so
    nothing per row stays in memory. Flushes, never commits: when `rows` (from `read`) ends in
    AreaFileError, the caller rolls its one transaction back and the file has changed nothing."""
    session.flush()
    report = ImportReport()
    districts = {d.code: d for d in session.scalars(select(District))}
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        _import_districts(session, districts, batch, report)
        _import_associations(session, districts, batch, report)
    # The bulk statements bypass the identity map: objects loaded before must reload.
    session.expire_all()
    return report


def _import_districts(
    session: Session, districts: dict[str, District], batch: list[AreaRow], report: ImportReport
) -> None:
    """A city has about 45 districts: plain ORM objects, kept for the whole import."""
    for row in batch:
        district = districts.get(row.district_code)
        if district is None:
            # A district new to Kairan starts preparing: an admin activates it when it begins.
            district = District(
                code=row.district_code,
                name=row.district_name,
                kana=row.district_kana,
                status=DistrictStatus.preparing,
            )
            session.add(district)
            districts[row.district_code] = district
            report.created["districts"] += 1
        elif (district.name, district.kana) != (row.district_name, row.district_kana):
            district.name, district.kana = row.district_name, row.district_kana
            report.updated["districts"] += 1
    session.flush()


_ASSOCIATION_FIELDS = ("district_id", "name", "kana", "household_count", "paper_household_count")


def _import_associations(
    session: Session, districts: dict[str, District], batch: list[AreaRow], report: ImportReport
) -> None:
    codes = [row.association_code for row in batch]
    columns = [getattr(Association, name) for name in ("id", "code", *_ASSOCIATION_FIELDS)]
    existing = {
        found.code: found
        for found in session.execute(
            select(*columns).where(_among(session, Association.code, codes))
        )
    }
    created: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for row in batch:
        wanted: dict[str, object] = {
            "district_id": districts[row.district_code].id,
            "name": row.association_name,
            "kana": row.association_kana,
            "household_count": row.households,
            "paper_household_count": row.paper_households,
        }
        found = existing.get(row.association_code)
        if found is None:
            created.append({"code": row.association_code, **wanted})
        elif any(getattr(found, key) != value for key, value in wanted.items()):
            changed.append({"row_id": found.id, **wanted})
    _write(session, Association, created, changed)
    report.created["associations"] += len(created)
    report.updated["associations"] += len(changed)
    with_groups = {row.association_code: row.groups for row in batch if row.groups}
    if with_groups:
        _import_groups(session, with_groups, report)


def _import_groups(
    session: Session, groups_by_code: dict[str, tuple[str, ...]], report: ImportReport
) -> None:
    """Groups keep the file's order; groups the file no longer names are kept."""
    ids = dict(
        session.execute(
            select(Association.code, Association.id).where(
                _among(session, Association.code, list(groups_by_code))
            )
        ).all()
    )
    existing = {
        (association_id, name): (group_id, position)
        for group_id, association_id, name, position in session.execute(
            select(Group.id, Group.association_id, Group.name, Group.position).where(
                _among(session, Group.association_id, list(ids.values()))
            )
        )
    }
    created: list[dict[str, object]] = []
    moved: list[dict[str, object]] = []
    for code, names in groups_by_code.items():
        association_id = ids[code]
        for position, name in enumerate(names, start=1):
            found = existing.get((association_id, name))
            if found is None:
                created.append(
                    {"association_id": association_id, "name": name, "position": position}
                )
            elif found[1] != position:
                moved.append({"row_id": found[0], "position": position})
    _write(session, Group, created, moved)
    report.created["groups"] += len(created)
    report.updated["groups"] += len(moved)


def _among(
    session: Session, column: InstrumentedAttribute[Any], values: list[Any]
) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL one array parameter (`= ANY`): the statement's text is
    then the same for every batch, compiled and converted once, instead of 1,000 placeholders
    rendered anew each time (a quarter of a re-import's time at 300,000 rows)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def _write(
    session: Session,
    model: type[Association | Group],
    created: list[dict[str, object]],
    changed: list[dict[str, object]],
) -> None:
    """One executemany each, straight to the table: the ORM's bulk path costs more per row than
    the database does. The columns' own defaults still stamp created_at and updated_at; `changed`
    rows name their primary key as `row_id`."""
    table = model.metadata.tables[model.__tablename__]
    if created:
        session.execute(insert(table), created)
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("row_id")), changed)
