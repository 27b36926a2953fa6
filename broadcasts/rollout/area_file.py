"""Reading the city's area file (districts, associations, groups): a CSV saved by Excel, in
UTF-8 or Shift_JIS, with English or Japanese headings.

The file is read once, as a stream (`read`): a file with any bad row is read to its end and
every bad row is reported with its line number (AreaFileError). Writing the rows is
broadcasts/rollout/areas.py's.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from broadcasts.core.text import hiragana

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


# A source is a file on disk, or the bytes of a small one (tests, the demo's sample).
Source = Path | bytes
# Bytes read at a time while finding the encoding.
CHUNK_BYTES = 1 << 16
# Progress is reported every this many records.
PROGRESS_ROWS = 1000
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
            if progress is not None and reader.line_num % PROGRESS_ROWS == 0:
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
        # In hiragana, so that a resident's typed search matches either script.
        return hiragana(value).replace("\u3000", " ")

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
