"""「自治会と到達率」 at city scale (issue #20): search (name, kana, code), filter by district,
sort by reach, paging — inside the viewer's scope. Timings are `make bench`'s, never here."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.rollout import area_file, areas
from broadcasts.staff.scope import Scope
from broadcasts.stats import reach_page
from models import MAX_ID, Association, District, Group, Resident, Role, StaffMember
from tests.helpers.settings import SAMPLE_AREAS

SERIAL = itertools.count(1)


@pytest.fixture
def sample(session: Session) -> dict[str, Association]:
    areas.import_areas(session, area_file.parse(SAMPLE_AREAS.read_bytes()))
    by_code = {a.code: a for a in session.scalars(select(Association))}
    # A0001 (楓西町内会, 194 households, 29 on paper): 170 on LINE → reach capped at 100%.
    session.add_all(
        Resident(
            line_user_id=f"U{next(SERIAL):032x}",
            association=by_code["A0001"],
            registered_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        for _ in range(170)
    )
    session.commit()
    return by_code


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-association="(\d+)"', html)]


def test_search_filter_sort_and_pages(
    session: Session,
    sample: dict[str, Association],
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
) -> None:
    client = dashboard_client(make_staff(Role.admin))
    first = client.get("/dashboard/associations").get_data(as_text=True)
    assert len(_rows(first)) == reach_page.PAGE_SIZE
    assert f"1 / {-(-len(sample) // reach_page.PAGE_SIZE)}" in first
    assert 'rel="next"' in first and 'for="reach-q"' in first
    # Every district still has its summary row.
    assert first.count('<tr><th scope="row">') == 45

    kaede = sample["A0001"]
    for typed in ("かえでにし", "カエデニシ", "a0001", "楓西"):
        found = client.get("/dashboard/associations", query_string={"q": typed})
        assert kaede.id in _rows(found.get_data(as_text=True)), typed

    best = client.get("/dashboard/associations?sort=reach_desc").get_data(as_text=True)
    assert kaede.id in _rows(best)[:5]
    worst = client.get("/dashboard/associations?sort=reach_asc").get_data(as_text=True)
    assert kaede.id not in _rows(worst)

    district = session.get_one(District, kaede.district_id)
    in_district = client.get(f"/dashboard/associations?district={district.id}&sort=reach_desc")
    ids = _rows(in_district.get_data(as_text=True))
    assert kaede.id in ids
    assert {session.get_one(Association, i).district_id for i in ids} == {district.id}

    city = Scope(0, city=True)
    for order, high_first in (("reach_desc", True), ("reach_asc", False)):
        shown = reach_page.read(session, city, sort=order)
        rates = [r.reach for r in shown.rows if r.reach is not None]
        assert rates == sorted(rates, reverse=high_first)
    assert reach_page.read(session, city, sort="reach_desc").rows[0].reach == 1.0

    last = -(-len(sample) // reach_page.PAGE_SIZE)
    tail = client.get(f"/dashboard/associations?page={last}").get_data(as_text=True)
    assert len(_rows(tail)) == len(sample) - (last - 1) * reach_page.PAGE_SIZE
    assert 'rel="prev"' in tail and 'rel="next"' not in tail
    # Paging keeps the search and the order.
    searched = client.get("/dashboard/associations?q=ちょうないかい&sort=reach_asc")
    assert "sort=reach_asc" in searched.get_data(as_text=True)
    assert "q=" in searched.get_data(as_text=True).split('rel="next"')[0].rsplit("href", 1)[1]


def test_the_page_stays_inside_the_scope_and_refuses_other_districts(
    session: Session,
    sample: dict[str, Association],
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
) -> None:
    kaede = sample["A0001"]
    foreign = sample["A0532"] if "A0532" in sample else list(sample.values())[-1]
    assert foreign.district_id != kaede.district_id
    promoter = dashboard_client(make_staff(Role.promoter, district_id=kaede.district_id))
    mine = promoter.get("/dashboard/associations").get_data(as_text=True)
    assert kaede.id in _rows(mine) and foreign.id not in _rows(mine)
    searched = promoter.get("/dashboard/associations", query_string={"q": foreign.code})
    assert _rows(searched.get_data(as_text=True)) == []
    for bad in (str(foreign.district_id), str(MAX_ID + 1), "-1", "x"):
        assert promoter.get(f"/dashboard/associations?district={bad}").status_code == 404, bad

    officer = dashboard_client(make_staff(Role.officer, association_id=kaede.id))
    assert _rows(officer.get("/dashboard/associations").get_data(as_text=True)) == [kaede.id]

    group = Group(association=kaede, name="9班", position=9)
    session.add(group)
    session.flush()
    leader = dashboard_client(make_staff(Role.group_leader, group_id=group.id))
    assert leader.get("/dashboard/associations").status_code == 302
    assert dashboard_client(None).get("/dashboard/associations").status_code in (302, 401)
