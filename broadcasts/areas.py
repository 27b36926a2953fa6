"""Importing the city's areas (districts, associations, groups) from a CSV saved by Excel.

The file is checked whole before anything is written: a file with any bad row changes nothing,
and every bad row is reported with its line number.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from charset_normalizer import from_bytes
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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


def decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes) or Shift_JIS/CP932 (Excel's "CSV")."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    # charset-normalizer weighs the evidence, limited to the encodings Excel writes here.
    best = from_bytes(data, cp_isolation=["utf_8", "cp932"]).best()
    if best is None:
        raise AreaFileError(
            [
                "文字コードを判別できません (UTF-8 か Shift_JIS で保存してください)"
                " / unknown encoding: save as UTF-8 or Shift_JIS"
            ]
        )
    return str(best)


def parse(data: bytes) -> list[AreaRow]:
    """Every row of the file, or AreaFileError naming every problem."""
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    header = next(reader, None)
    if header is None:
        raise AreaFileError(["ファイルが空です / the file is empty"])
    positions = _column_positions(header)
    rows: list[AreaRow] = []
    problems: list[str] = []
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        try:
            rows.append(_row(line, record, positions))
        except ValueError as error:
            problems.append(f"{line}行目 / line {line}: {error}")
    problems.extend(_consistency_problems(rows))
    if not rows and not problems:
        problems.append("データ行がありません / no data rows")
    if problems:
        raise AreaFileError(problems)
    return rows


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


def _consistency_problems(rows: Iterable[AreaRow]) -> list[str]:
    problems: list[str] = []
    districts: dict[str, AreaRow] = {}
    associations: dict[str, AreaRow] = {}
    for row in rows:
        first = districts.setdefault(row.district_code, row)
        if (first.district_name, first.district_kana) != (row.district_name, row.district_kana):
            problems.append(
                f"{row.line}行目 / line {row.line}: 校区 {row.district_code} の名前が"
                f" {first.line}行目と違います / district name differs from line {first.line}"
            )
        earlier = associations.setdefault(row.association_code, row)
        if earlier is not row:
            problems.append(
                f"{row.line}行目 / line {row.line}: 自治会コード {row.association_code} が"
                f" {earlier.line}行目と重複 / association code repeats line {earlier.line}"
            )
    return problems


def to_hiragana(kana: str) -> str:
    """Readings are kept in hiragana so a resident's typed search matches either script."""
    return "".join(
        chr(ord(ch) - 0x60) if "\u30a1" <= ch <= "\u30f6" else ch for ch in kana
    ).replace("\u3000", " ")


def import_areas(
    session: Session, rows: list[AreaRow], on_row: Callable[[AreaRow], None] | None = None
) -> ImportReport:
    """Create or update every area named in `rows`; areas the file does not name are kept
    (residents may be registered in them). Flushes, never commits."""
    report = ImportReport()
    districts = {d.code: d for d in session.scalars(select(District))}
    associations = {
        a.code: a
        for a in session.scalars(select(Association).options(selectinload(Association.groups)))
    }
    for row in rows:
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
        elif _changed(district, name=row.district_name, kana=row.district_kana):
            report.updated["districts"] += 1
        district.name, district.kana = row.district_name, row.district_kana

        association = associations.get(row.association_code)
        wanted = {
            "name": row.association_name,
            "kana": row.association_kana,
            "household_count": row.households,
            "paper_household_count": row.paper_households,
        }
        if association is None:
            association = Association(code=row.association_code, district=district, **wanted)
            session.add(association)
            associations[row.association_code] = association
            report.created["associations"] += 1
        elif association.district is not district or _changed(association, **wanted):
            report.updated["associations"] += 1
        association.district = district
        for key, value in wanted.items():
            setattr(association, key, value)
        _import_groups(association, row.groups, report)
        if on_row is not None:
            on_row(row)
    session.flush()
    return report


def _import_groups(association: Association, names: tuple[str, ...], report: ImportReport) -> None:
    existing = {group.name: group for group in association.groups}
    for position, group_name in enumerate(names, start=1):
        group = existing.get(group_name)
        if group is None:
            association.groups.append(Group(name=group_name, position=position))
            report.created["groups"] += 1
        elif group.position != position:
            group.position = position
            report.updated["groups"] += 1


def _changed(entity: object, **values: object) -> bool:
    return any(getattr(entity, key) != value for key, value in values.items())
