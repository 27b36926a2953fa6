"""Finding targets at city scale (issue #20): districts, associations and 班 by name, kana or
code, or one district opened at a time, a page at a time — never the city's 2,000+ associations
at once. Only what the author may target is ever listed (broadcasts.staff.scope's Scope);
`chosen` names the picked areas for the chips and counts them with targeting's one function.

A small scope (a promoter's district, an officer's associations, a test city) is opened whole:
it fits on one screen, so there is nothing to search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcasts.circulars import targeting
from broadcasts.circulars.targeting import Target
from broadcasts.core.search_text import katakana, normalized
from broadcasts.staff.scope import Scope
from models import Association, District, FollowStatus, Group, Resident, StaffMember

PAGE_SIZE = 15
# Up to this many associations, every district of the scope is shown opened.
OPEN_WHOLE = 40
QUERY_LIMIT = 50


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    # 「〇〇校区 › 〇〇町内会」: where a 班 found by name lies.
    context: str
    recipients: int


@dataclass(frozen=True)
class AssociationRow:
    id: int
    name: str
    code: str
    district_id: int
    district_name: str
    recipients: int
    paper_households: int
    groups: tuple[GroupRow, ...]


@dataclass(frozen=True)
class DistrictRow:
    id: int
    name: str
    code: str
    # False for an officer: they may pick associations of this district, not all of it.
    selectable: bool
    recipients: int
    # The district's associations when it is opened (browsing), else empty.
    associations: tuple[AssociationRow, ...] = ()
    opened: bool = False


@dataclass(frozen=True)
class Listing:
    query: str
    districts: tuple[DistrictRow, ...]
    # Found by the query (a flat list); when browsing, the opened district's are nested above.
    associations: tuple[AssociationRow, ...]
    groups: tuple[GroupRow, ...]
    page: int
    pages: int
    total: int
    # Everything in scope is shown opened: no search needed.
    whole: bool

    @property
    def searching(self) -> bool:
        return bool(self.query)


@dataclass(frozen=True)
class Chip:
    kind: str  # "districts" | "associations" | "groups": the form field it is submitted as
    id: int
    name: str
    context: str


@dataclass(frozen=True)
class Chosen:
    chips: tuple[Chip, ...]
    reach: targeting.Reach
    # Ids that are not areas the author may target (forged, removed, or another's).
    refused: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(
    text: str,
    name: InstrumentedAttribute[str],
    kana: InstrumentedAttribute[str] | None,
    code: InstrumentedAttribute[str] | None,
) -> ColumnElement[bool]:
    # `text` has its katakana as hiragana: names and readings may be written in either.
    variants = {_like(text), _like(katakana(text))}
    parts = [name.like(v, escape="\\") for v in sorted(variants)]
    if kana is not None:
        parts.extend(kana.like(v, escape="\\") for v in sorted(variants))
    if code is not None:
        parts.append(func.lower(code).like(_like(text), escape="\\"))
    return or_(*parts)


def find(
    session: Session,
    author: StaffMember | None,
    query: str = "",
    opened: int | None = None,
    page: int = 1,
) -> Listing:
    """The areas `author` may target matching `query` (name, kana or code), or — with no query
    — the scope's districts with `opened` shown with its associations. Paged by PAGE_SIZE."""
    scope = Scope.of_member(author).whole_areas()
    text = normalized(query)[:QUERY_LIMIT]
    empty = Listing(text, (), (), (), 1, 1, 0, False)
    if not scope.may_compose:
        return empty
    in_scope = scope.associations()
    if text:
        return _search(session, scope, in_scope, text, page)
    return _browse(session, scope, in_scope, opened, page)


def _search(
    session: Session,
    scope: Scope,
    in_scope: ColumnElement[bool],
    text: str,
    page: int,
) -> Listing:
    district_ids: list[int] = []
    if scope.city or scope.district_ids:
        wanted = select(District.id).where(
            _matches(text, District.name, District.kana, District.code)
        )
        if not scope.city:
            wanted = wanted.where(District.id.in_(scope.district_ids))
        district_ids = list(session.scalars(wanted.order_by(District.kana, District.id)))
    association_ids = list(
        session.scalars(
            select(Association.id)
            .join(District, District.id == Association.district_id)
            .where(in_scope, _matches(text, Association.name, Association.kana, Association.code))
            .order_by(District.kana, Association.kana, Association.id)
        )
    )
    group_ids = list(
        session.scalars(
            select(Group.id)
            .join(Association, Association.id == Group.association_id)
            .join(District, District.id == Association.district_id)
            .where(in_scope, _matches(text, Group.name, None, None))
            .order_by(District.kana, Association.kana, Group.position, Group.id)
        )
    )
    found: list[tuple[str, int]] = [
        *(("d", i) for i in district_ids),
        *(("a", i) for i in association_ids),
        *(("g", i) for i in group_ids),
    ]
    total = len(found)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    districts = _district_rows(
        session, scope, [i for kind, i in shown if kind == "d"], opened=frozenset()
    )
    associations = _association_rows(session, [i for kind, i in shown if kind == "a"])
    groups = _group_rows(session, [i for kind, i in shown if kind == "g"])
    return Listing(text, districts, associations, groups, page, pages, total, False)


def _browse(
    session: Session,
    scope: Scope,
    in_scope: ColumnElement[bool],
    opened: int | None,
    page: int,
) -> Listing:
    rows = session.execute(
        select(Association.district_id, func.count())
        .where(in_scope)
        .group_by(Association.district_id)
    ).all()
    sizes = {district_id: int(n) for district_id, n in rows}
    whole = sum(sizes.values()) <= OPEN_WHOLE
    district_ids = list(
        session.scalars(
            select(District.id).where(District.id.in_(sizes)).order_by(District.kana, District.id)
        )
    )
    if whole:
        shown = frozenset(district_ids)
    elif opened in sizes:
        shown = frozenset({opened})
    elif len(district_ids) == 1:
        shown = frozenset(district_ids)
    else:
        shown = frozenset()
    # One opened district at a time is paged; a whole small scope is one page.
    pages = 1
    total = len(district_ids)
    limit: tuple[int, int] | None = None
    if not whole and shown:
        (only,) = shown
        pages = max(1, math.ceil(sizes[only] / PAGE_SIZE))
        page = min(max(page, 1), pages)
        limit = ((page - 1) * PAGE_SIZE, PAGE_SIZE)
    else:
        page = 1
    districts = _district_rows(session, scope, district_ids, shown, in_scope, limit)
    return Listing("", districts, (), (), page, pages, total, whole)


# --- rows with their live counts ---------------------------------------------------------------


def _following() -> ColumnElement[bool]:
    return Resident.follow_status == FollowStatus.following


def _district_rows(
    session: Session,
    scope: Scope,
    ids: Sequence[int],
    opened: frozenset[int],
    in_scope: ColumnElement[bool] | None = None,
    limit: tuple[int, int] | None = None,
) -> tuple[DistrictRow, ...]:
    if not ids:
        return ()
    counts = dict(
        session.execute(
            select(Association.district_id, func.count(Resident.id))
            .join(Resident, Resident.association_id == Association.id)
            .where(Association.district_id.in_(ids), _following())
            .group_by(Association.district_id)
        ).all()
    )
    nested: dict[int, list[AssociationRow]] = {}
    if opened and in_scope is not None:
        query = (
            select(Association.id)
            .where(Association.district_id.in_(opened), in_scope)
            .order_by(Association.district_id, Association.kana, Association.id)
        )
        if limit is not None:
            query = query.offset(limit[0]).limit(limit[1])
        for row in _association_rows(session, list(session.scalars(query))):
            nested.setdefault(row.district_id, []).append(row)
    by_id = {d.id: d for d in session.scalars(select(District).where(District.id.in_(ids)))}
    return tuple(
        DistrictRow(
            id=i,
            name=by_id[i].name,
            code=by_id[i].code,
            selectable=scope.city or i in scope.district_ids,
            recipients=int(counts.get(i, 0)),
            associations=tuple(nested.get(i, ())),
            opened=i in opened,
        )
        for i in ids
    )


def _association_rows(session: Session, ids: Sequence[int]) -> tuple[AssociationRow, ...]:
    if not ids:
        return ()
    found = {
        a.id: (a, district_name, district_id)
        for a, district_name, district_id in session.execute(
            select(Association, District.name, District.id)
            .join(District, District.id == Association.district_id)
            .where(Association.id.in_(ids))
        ).all()
    }
    counts = dict(
        session.execute(
            select(Resident.association_id, func.count())
            .where(Resident.association_id.in_(ids), _following())
            .group_by(Resident.association_id)
        ).all()
    )
    groups = list(
        session.scalars(
            select(Group).where(Group.association_id.in_(ids)).order_by(Group.position, Group.id)
        )
    )
    group_counts = _group_counts(session, [g.id for g in groups])
    by_association: dict[int, list[GroupRow]] = {}
    for group in groups:
        by_association.setdefault(group.association_id, []).append(
            GroupRow(group.id, group.name, "", group_counts.get(group.id, 0))
        )
    rows = []
    for i in ids:
        association, district_name, district_id = found[i]
        rows.append(
            AssociationRow(
                id=i,
                name=association.name,
                code=association.code,
                district_id=district_id,
                district_name=district_name,
                recipients=int(counts.get(i, 0)),
                paper_households=association.paper_household_count,
                groups=tuple(by_association.get(i, [])),
            )
        )
    return tuple(rows)


def _group_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    return {
        int(group_id): int(n)
        for group_id, n in session.execute(
            select(Resident.group_id, func.count())
            .where(Resident.group_id.in_(ids), _following())
            .group_by(Resident.group_id)
        ).all()
        if group_id is not None
    }


def _group_rows(session: Session, ids: Sequence[int]) -> tuple[GroupRow, ...]:
    if not ids:
        return ()
    found = {
        group.id: f"{district} › {association}"
        for group, association, district in session.execute(
            select(Group, Association.name, District.name)
            .join(Association, Association.id == Group.association_id)
            .join(District, District.id == Association.district_id)
            .where(Group.id.in_(ids))
        ).all()
    }
    names = dict(session.execute(select(Group.id, Group.name).where(Group.id.in_(ids))).all())
    counts = _group_counts(session, ids)
    return tuple(GroupRow(i, names[i], found[i], counts.get(i, 0)) for i in ids)


# --- the chosen areas: chips and their count ------------------------------------------------------


def chosen(session: Session, author: StaffMember | None, target: Target) -> Chosen:
    """The chips for `target`'s areas that `author` may target, and how many residents and
    messages those reach now (targeting.reach, the number the preview and release use).
    `refused` when any id is not such an area: a forged, removed or foreign id is dropped."""
    scope = Scope.of_member(author).whole_areas()
    if not scope.may_compose:
        return Chosen((), targeting.reach(session, Target()), refused=not target.is_empty())
    in_scope = scope.associations()
    districts = session.execute(
        select(District.id, District.name)
        .where(District.id.in_(target.district_ids))
        .order_by(District.kana, District.id)
    ).all()
    district_chips = [
        Chip("districts", i, name, "")
        for i, name in districts
        if scope.city or i in scope.district_ids
    ]
    associations = session.execute(
        select(Association.id, Association.name, District.name)
        .join(District, District.id == Association.district_id)
        .where(Association.id.in_(target.association_ids), in_scope)
        .order_by(District.kana, Association.kana, Association.id)
    ).all()
    association_chips = [Chip("associations", i, name, d) for i, name, d in associations]
    groups = session.execute(
        select(Group.id, Group.name, Association.name)
        .join(Association, Association.id == Group.association_id)
        .where(Group.id.in_(target.group_ids), in_scope)
        .order_by(Association.kana, Group.position, Group.id)
    ).all()
    group_chips = [Chip("groups", i, name, a) for i, name, a in groups]
    kept = Target.of(
        (c.id for c in district_chips),
        (c.id for c in association_chips),
        (c.id for c in group_chips),
    )
    refused = (
        len(district_chips) != len(target.district_ids)
        or len(association_chips) != len(target.association_ids)
        or len(group_chips) != len(target.group_ids)
    )
    return Chosen(
        (*district_chips, *association_chips, *group_chips),
        targeting.reach(session, kept),
        refused,
    )
