"""Importing the city's areas (districts, associations, groups) from the rows of its area file
(broadcasts/rollout/area_file.py).

The rows are written in bulk a batch at a time (`import_areas`), all inside the caller's one
transaction: when the file turns out to have a bad row, the caller rolls back, so it changes
nothing. Memory stays flat whatever the file's size (300,000 rows: docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, insert, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcasts.rollout.area_file import AreaRow
from models import Association, District, DistrictStatus, Group

KINDS = ("districts", "associations", "groups")


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


# Rows written per bulk statement.
BATCH_ROWS = 1000


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
