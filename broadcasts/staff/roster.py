"""Bulk onboarding: a CSV of staff (role, area code, name, term end) saved from Excel becomes one
invite code per person, printed as letters (broadcasts.staff.letters).

The file is read as the area import reads it (broadcasts.rollout.areas: UTF-8 with or without
BOM, or Shift_JIS/CP932; headings in English or Japanese) and with the same rule: every row is
checked first, every bad row is named with its line, and a file with any bad row creates
nothing. Each row must be one the importer may appoint (invites.may_appoint): a promoter's file
names officers and 班長 of their district only.

A 班長's area is their association's code and the 班's name (column 班).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.rollout.area_file import AreaFileError, Source, encoding_of, records
from broadcasts.staff import invites, terms
from broadcasts.staff.scope import Scope
from models import Role

# Letters are printed, posted or handed out at a meeting: the code lasts longer than a typed one.
LETTER_VALID_FOR = timedelta(days=30)
MAX_ROWS = 5000

COLUMNS: dict[str, tuple[str, ...]] = {
    "role": ("役割", "役職"),
    "area_code": ("範囲コード", "コード", "校区・自治会コード", "地域コード"),
    "group": ("班", "班名"),
    "name": ("氏名", "名前", "お名前"),
    "term_end": ("任期", "任期の終わり", "任期終了日", "任期満了日"),
}
OPTIONAL_COLUMNS = {"group", "term_end"}

ROLE_WORDS: dict[str, Role] = {
    "admin": Role.admin,
    "管理者": Role.admin,
    "promoter": Role.promoter,
    "ict推進員": Role.promoter,
    "推進員": Role.promoter,
    "officer": Role.officer,
    "役員": Role.officer,
    "自治会役員": Role.officer,
    "group_leader": Role.group_leader,
    "班長": Role.group_leader,
}
ROLE_NAMES = {
    Role.admin: "管理者",
    Role.promoter: "ICT推進員",
    Role.officer: "自治会役員",
    Role.group_leader: "班長",
}
DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class StaffFileError(AreaFileError):
    """The staff file cannot be imported; `problems` names every bad line."""


@dataclass(frozen=True)
class StaffRow:
    line: int
    role: Role
    area: invites.Area
    name: str
    term_end: date | None


@dataclass(frozen=True)
class Letter:
    """What one invite letter says."""

    name: str
    role: Role
    area: str
    code: str
    expires_at: datetime
    term_end: date | None

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


def read(session: Session, clock: Clock, scope: Scope | None, source: Source) -> list[StaffRow]:
    """Every row, checked; StaffFileError naming every bad line if any is bad. `scope` None: a
    server command, which may appoint anyone."""
    try:
        lines = records(source, encoding_of(source))
        first = next(lines, None)
    except AreaFileError as error:
        raise StaffFileError(error.problems) from None
    if first is None:
        raise StaffFileError(["ファイルが空です / the file is empty"])
    positions = _positions(first[1])
    today = clock.now().astimezone(terms.TOKYO).date()
    problems: list[str] = []
    rows: list[StaffRow] = []
    seen: dict[tuple[Role, str, str, str], int] = {}
    try:
        for line, record in lines:
            if len(rows) + len(problems) >= MAX_ROWS:
                problems.append(
                    f"{line}行目 / line {line}: {MAX_ROWS}行まで / at most {MAX_ROWS} rows"
                )
                break
            try:
                row = _row(session, scope, today, line, record, positions)
            except ValueError as error:
                problems.append(f"{line}行目 / line {line}: {error}")
                continue
            key = (row.role, _cell(record, positions, "area_code"), row.area.name or "", row.name)
            earlier = seen.setdefault(key, line)
            if earlier != line:
                problems.append(
                    f"{line}行目 / line {line}: {earlier}行目と同じ人・役割です"
                    f" / repeats line {earlier}"
                )
                continue
            rows.append(row)
    except AreaFileError as error:
        raise StaffFileError([*problems, *error.problems]) from None
    if not rows and not problems:
        problems.append("データ行がありません / no data rows")
    if problems:
        raise StaffFileError(problems)
    return rows


def invite_all(
    session: Session, clock: Clock, scope: Scope | None, rows: list[StaffRow]
) -> list[Letter]:
    """One code per row, valid `LETTER_VALID_FOR`; flushes, the caller commits."""
    letters: list[Letter] = []
    for row in rows:
        invite = invites.issue(
            session,
            clock,
            row.role,
            row.area,
            inviter=scope,
            invitee_name=row.name,
            role_ends_at=terms.ends_at(row.term_end),
            valid_for=LETTER_VALID_FOR,
        )
        letters.append(
            Letter(
                row.name,
                row.role,
                invite.area or "市全体",
                invite.code,
                invite.expires_at,
                row.term_end,
            )
        )
    return letters


def _positions(header: list[str]) -> dict[str, int]:
    names = [unicodedata.normalize("NFKC", cell).strip().lower() for cell in header]
    positions: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for alias in (column, *aliases):
            if alias.lower() in names:
                positions[column] = names.index(alias.lower())
                break
    missing = [c for c in COLUMNS if c not in positions and c not in OPTIONAL_COLUMNS]
    if missing:
        raise StaffFileError(
            [f"1行目 / line 1: 列がありません / missing columns: {', '.join(missing)}"]
        )
    return positions


def _cell(record: list[str], positions: dict[str, int], column: str) -> str:
    index = positions.get(column)
    if index is None or index >= len(record):
        return ""
    return unicodedata.normalize("NFKC", record[index]).strip()


def _row(
    session: Session,
    scope: Scope | None,
    today: date,
    line: int,
    record: list[str],
    positions: dict[str, int],
) -> StaffRow:
    reasons: list[str] = []
    role = ROLE_WORDS.get(_cell(record, positions, "role").lower())
    if role is None:
        reasons.append(
            "role は 管理者・ICT推進員・役員・班長 のどれか"
            " / role must be admin, promoter, officer or group_leader"
        )
    name = _cell(record, positions, "name")
    if not name or len(name) > 100:
        reasons.append("name は1〜100文字 / name must be 1–100 characters")
    term_end: date | None = None
    written = _cell(record, positions, "term_end")
    if written:
        match = DATE.fullmatch(written)
        try:
            term_end = date(*(int(part) for part in match.groups())) if match else None
        except ValueError:
            term_end = None
        if term_end is None:
            reasons.append("term_end は 2027/3/31 のような日付 / term_end must be a date")
        elif term_end < today:
            reasons.append("term_end が過ぎています / term_end has passed")
    area = invites.Area()
    if role is not None:
        code = _cell(record, positions, "area_code")
        group = _cell(record, positions, "group")
        try:
            area = invites.find_area(
                session,
                role,
                district_code=code if role is Role.promoter else None,
                association_code=code if role in (Role.officer, Role.group_leader) else None,
                group_name=group or None,
            )
        except invites.InviteError as error:
            if role is Role.admin and code:
                reasons.append("管理者は市全体です（コードは空に） / an admin has no area code")
            else:
                reasons.append(
                    str(error)
                    .replace("--district", "area_code")
                    .replace("--association", "area_code")
                    .replace("--group", "班/group")
                )
        else:
            ids = (
                area.district.id if area.district else None,
                area.association.id if area.association else None,
                area.group.id if area.group else None,
            )
            if scope is not None and not invites.may_appoint(session, scope, role, *ids):
                reasons.append(invites.NOT_YOURS)
    if reasons or role is None:
        raise ValueError("; ".join(reasons))
    return StaffRow(line, role, area, name, term_end)
