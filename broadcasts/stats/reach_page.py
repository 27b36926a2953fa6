"""「自治会と到達率」 at city scale (issue #20): the associations' digital reach searched (name,
kana, code), filtered by district, sorted by reach and paged — with the per-district summary.

One query reads every association in the scope with its LINE-registered households (the
aggregate over residents is the cost, and it is paid once); searching, sorting and paging the
few thousand rows then happen here, so the summary, the filter and the page always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.core.search_text import found_in, normalized
from broadcasts.staff.scope import Scope
from broadcasts.stats.digital_reach import Reach, registered_households
from models import Association, District

PAGE_SIZE = 50
SORTS = ("area", "reach_desc", "reach_asc")
QUERY_LIMIT = 50


@dataclass(frozen=True)
class ReachPage:
    rows: tuple[Reach, ...]
    # Per district, best reach first; empty for an officer (their association is the page).
    districts: tuple[Reach, ...]
    # The districts the filter offers: (id, name), in kana order.
    choices: tuple[tuple[int, str], ...]
    query: str
    district_id: int | None
    sort: str
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class _Row:
    reach: Reach
    kana: str
    code: str
    district_kana: str


def read(
    session: Session,
    scope: Scope,
    query: str = "",
    district_id: int | None = None,
    sort: str = "area",
    page: int = 1,
    with_districts: bool = True,
) -> ReachPage:
    """The page asked for. An unknown `sort` is the area order; a `district_id` outside the
    scope filters to nothing (the caller may answer 404 instead)."""
    registered = registered_households()
    found = session.execute(
        select(
            Association.id,
            Association.name,
            Association.kana,
            Association.code,
            District.id,
            District.name,
            District.kana,
            Association.household_count,
            Association.paper_household_count,
            func.coalesce(registered.c.n, 0),
        )
        .join(District, District.id == Association.district_id)
        .outerjoin(registered, registered.c.association_id == Association.id)
        .where(scope.associations())
        .order_by(District.kana, District.id, Association.kana, Association.id)
    ).all()
    rows = [
        _Row(
            Reach(aid, name, did, dname, int(households), int(paper), int(n)),
            kana,
            code,
            dkana,
        )
        for aid, name, kana, code, did, dname, dkana, households, paper, n in found
    ]
    choices: dict[int, str] = {}
    for row in rows:
        choices.setdefault(row.reach.district_id, row.reach.district_name)
    districts = _by_district(rows) if with_districts else ()

    text = normalized(query)[:QUERY_LIMIT]
    chosen = [
        row
        for row in rows
        if (district_id is None or row.reach.district_id == district_id)
        and (not text or found_in(text, row.reach.name, row.kana, row.code))
    ]
    sort = sort if sort in SORTS else "area"
    if sort != "area":
        high_first = sort == "reach_desc"
        # No households, no rate: such associations come last either way.
        chosen.sort(
            key=lambda row: (
                row.reach.reach is None,
                -(row.reach.reach or 0.0) if high_first else (row.reach.reach or 0.0),
            )
        )
    total = len(chosen)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return ReachPage(
        rows=tuple(row.reach for row in shown),
        districts=districts,
        choices=tuple(choices.items()),
        query=text,
        district_id=district_id,
        sort=sort,
        page=page,
        pages=pages,
        total=total,
    )


def _by_district(rows: list[_Row]) -> tuple[Reach, ...]:
    sums: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for row in rows:
        r = row.reach
        total = sums.setdefault(r.district_id, [0, 0, 0])
        total[0] += r.households
        total[1] += r.paper
        total[2] += r.registered
        names[r.district_id] = r.district_name
    found = [Reach(did, names[did], did, names[did], h, p, n) for did, (h, p, n) in sums.items()]
    return tuple(sorted(found, key=lambda r: (-(r.reach or 0.0), r.name)))
