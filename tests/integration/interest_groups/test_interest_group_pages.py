"""The dashboard's interest-group pages: the role matrix, CSRF, ids from other areas and beyond
the id columns (the site's 404), a formula-safe CSV, and composing to a group with an area."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target, reach
from broadcasts.interest_groups import groups, members
from broadcasts.interest_groups.groups import Area
from models import (
    MAX_ID,
    Association,
    Circular,
    District,
    InterestGroup,
    Posters,
    Resident,
    Role,
    StaffMember,
)
from tests.helpers.clock import FakeClock


@dataclass
class World:
    admin: StaffMember
    promoter_a: StaffMember
    officer_x: StaffMember
    officer_y: StaffMember
    leader_x: StaffMember
    no_role: StaffMember
    a: District
    x: Association
    y: Association
    kids_x: InterestGroup
    kids_y: InterestGroup


@pytest.fixture
def world(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> World:
    a, b = make_district(name="A校区"), make_district(name="B校区")
    x = make_association(district=a, name="X町内会", groups=("1班",))
    y = make_association(district=b, name="Y町内会")
    officer_x = make_staff(Role.officer, association_id=x.id)
    officer_y = make_staff(Role.officer, association_id=y.id)
    no_role = StaffMember(line_user_id="U" + "e" * 32, display_name="元職員")
    session.add(no_role)
    world = World(
        admin=make_staff(Role.admin),
        promoter_a=make_staff(Role.promoter, district_id=a.id),
        officer_x=officer_x,
        officer_y=officer_y,
        leader_x=make_staff(Role.group_leader, group_id=x.groups[0].id),
        no_role=no_role,
        a=a,
        x=x,
        y=y,
        kids_x=groups.create(
            session, clock, officer_x.id, Area(x.id), "子ども会", Posters.officers
        ),
        kids_y=groups.create(
            session, clock, officer_y.id, Area(y.id), "子ども会", Posters.officers
        ),
    )
    session.commit()
    return world


def routes(w: World) -> dict[str, str]:
    return {
        "list_x": f"/dashboard/associations/{w.x.id}/interest-groups",
        "list_y": f"/dashboard/associations/{w.y.id}/interest-groups",
        "csv_x": f"/dashboard/associations/{w.x.id}/interest-groups.csv",
        "district_a": f"/dashboard/districts/{w.a.id}/interest-groups",
        "edit_x": f"/dashboard/interest-groups/{w.kids_x.id}",
        "edit_y": f"/dashboard/interest-groups/{w.kids_y.id}",
        "missing": "/dashboard/interest-groups/999999",
        "too_large": f"/dashboard/interest-groups/{MAX_ID + 1}",
        "association_too_large": f"/dashboard/associations/{MAX_ID + 1}/interest-groups",
    }


OK, NOT_FOUND, FORBIDDEN, LOGIN = 200, 404, 403, 302
NAMES = (
    "list_x",
    "list_y",
    "csv_x",
    "district_a",
    "edit_x",
    "edit_y",
    "missing",
    "too_large",
    "association_too_large",
)
BEYOND = ("too_large", "association_too_large")
# viewer → route → status. Outside a viewer's scope is 404, existing or not.
MATRIX: dict[str, dict[str, int]] = {
    "admin": {
        "list_x": OK, "list_y": OK, "csv_x": OK, "district_a": OK, "edit_x": OK, "edit_y": OK,
        "missing": NOT_FOUND, "too_large": NOT_FOUND, "association_too_large": NOT_FOUND,
    },
    "promoter_a": {
        "list_x": OK, "list_y": NOT_FOUND, "csv_x": OK, "district_a": OK, "edit_x": OK,
        "edit_y": NOT_FOUND, "missing": NOT_FOUND, "too_large": NOT_FOUND,
        "association_too_large": NOT_FOUND,
    },
    "officer_x": {
        "list_x": OK, "list_y": NOT_FOUND, "csv_x": OK, "district_a": NOT_FOUND, "edit_x": OK,
        "edit_y": NOT_FOUND, "missing": NOT_FOUND, "too_large": NOT_FOUND,
        "association_too_large": NOT_FOUND,
    },
    "officer_y": {
        "list_x": NOT_FOUND, "list_y": OK, "csv_x": NOT_FOUND, "district_a": NOT_FOUND,
        "edit_x": NOT_FOUND, "edit_y": OK, "missing": NOT_FOUND, "too_large": NOT_FOUND,
        "association_too_large": NOT_FOUND,
    },
    # A 班長 composes nothing, so manages no group, even of their own association.
    "leader_x": dict.fromkeys(NAMES, NOT_FOUND),
    # Beyond the id columns no address matches, so no login is asked for.
    "no_role": {**dict.fromkeys(NAMES, FORBIDDEN), **dict.fromkeys(BEYOND, NOT_FOUND)},
    "anonymous": {**dict.fromkeys(NAMES, LOGIN), **dict.fromkeys(BEYOND, NOT_FOUND)},
}  # fmt: skip


@pytest.mark.parametrize("who", list(MATRIX))
def test_every_group_page_answers_each_role_within_its_scope(
    who: str, world: World, dashboard_client: Callable[..., Any]
) -> None:
    member = None if who == "anonymous" else getattr(world, who)
    # A fresh client each time: a refused session is ended, so a second request would be 302.
    got = {
        name: dashboard_client(member).get(url).status_code for name, url in routes(world).items()
    }
    assert got == MATRIX[who]


def test_not_found_is_the_site_s_own_page(
    world: World, dashboard_client: Callable[..., Any]
) -> None:
    page = dashboard_client(world.officer_x).get(routes(world)["edit_y"])
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "見つかりませんでした。" in text and "子ども会" not in text


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _groups(session: Session) -> list[str]:
    session.expire_all()
    return sorted(session.scalars(select(InterestGroup.name)))


def test_an_officer_creates_and_renames_a_group_with_csrf_and_nowhere_else(
    world: World, session: Session, dashboard_client: Callable[..., Any], csrf_on: None
) -> None:
    client = dashboard_client(world.officer_x)
    url = routes(world)["list_x"]
    token = _csrf(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"name": "老人会", "posters": "officers"}).status_code == 400
    forged = {"csrf_token": "forged", "name": "老人会", "posters": "officers"}
    assert client.post(url, data=forged).status_code == 400
    assert _groups(session) == ["子ども会", "子ども会"]

    made = client.post(url, data={"csrf_token": token, "name": "老人会", "posters": "creator"})
    assert made.status_code == 302
    page = client.get(url).get_data(as_text=True)
    group = session.scalars(select(InterestGroup).where(InterestGroup.name == "老人会")).one()
    assert groups.printed(group.join_code) in page and group.posters is Posters.creator
    twice = client.post(url, data={"csrf_token": token, "name": "老人会", "posters": "officers"})
    assert twice.status_code == 400 and "同じ名前のグループがあります" in twice.get_data(
        as_text=True
    )
    bad_posters = {"csrf_token": token, "name": "x", "posters": "everyone"}
    assert client.post(url, data=bad_posters).status_code == 400

    # Into another association, or renaming its group: 404, nothing written.
    other = routes(world)["list_y"]
    assert client.post(other, data={"csrf_token": token, "name": "乗っ取り"}).status_code == 404
    edit_y = routes(world)["edit_y"]
    renamed = {"csrf_token": token, "name": "乗っ取り", "posters": "officers"}
    assert client.post(edit_y, data=renamed).status_code == 404
    # Beyond the id columns no route matches: the catch-all for unknown addresses takes GETs only.
    beyond = client.post(f"/dashboard/interest-groups/{MAX_ID + 1}", data=renamed)
    assert beyond.status_code in (404, 405)
    edit_x = f"/dashboard/interest-groups/{group.id}"
    assert client.post(edit_x, data={**renamed, "name": "シニアクラブ"}).status_code == 302
    assert _groups(session) == ["シニアクラブ", "子ども会", "子ども会"]


def test_the_csv_is_formula_safe(
    world: World,
    session: Session,
    clock: FakeClock,
    dashboard_client: Callable[..., Any],
    make_resident: Callable[..., Resident],
) -> None:
    group = groups.create(
        session, clock, world.officer_x.id, Area(world.x.id), '=HYPERLINK("x")', Posters.officers
    )
    for name in ("+1", "-1", "@SUM(A1)"):
        groups.create(session, clock, world.officer_x.id, Area(world.x.id), name, Posters.officers)
    resident = make_resident(association=world.x, registered_at=clock.now())
    members.join(session, clock, resident.line_user_id, group.join_code)
    session.commit()
    csv = dashboard_client(world.officer_x).get(routes(world)["csv_x"])
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "グループ,人数,参加コード"
    assert lines[1].startswith("役員会,0,")
    cells = {line.split(",")[0] for line in lines[1:]}
    assert {"'+1", "'-1", "'@SUM(A1)", '"\'=HYPERLINK(""x"")"'} <= cells
    assert f'"\'=HYPERLINK(""x"")",1,{groups.printed(group.join_code)}' in lines


def test_an_officer_composes_to_a_group_and_an_area_and_the_preview_counts_once(
    world: World,
    session: Session,
    clock: FakeClock,
    dashboard_client: Callable[..., Any],
    make_resident: Callable[..., Resident],
) -> None:
    in_group = make_resident(
        association=world.x, group=world.x.groups[0], registered_at=clock.now()
    )
    make_resident(association=world.x, registered_at=clock.now())
    members.join(session, clock, in_group.line_user_id, world.kids_x.join_code)
    session.commit()
    client = dashboard_client(world.officer_x)
    form = client.get("/dashboard/compose").get_data(as_text=True)
    assert f'name="interest_groups" value="{world.kids_x.id}"' in form
    assert f'name="staff_of" value="{world.x.id}"' in form
    assert f'value="{world.kids_y.id}"' not in form
    data = {
        "csrf_token": _csrf(form),
        "title": "子ども会のお知らせ",
        "body": "本文",
        "confirmation_required": "y",
        "groups": [str(world.x.groups[0].id)],
        "interest_groups": [str(world.kids_x.id)],
    }
    saved = client.post("/dashboard/compose", data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    circular = session.scalars(select(Circular)).one()
    assert reach(session, Target.of_circular(circular)).recipients == 1
    # The preview counts the member of the group who is also in the 班 once.
    preview = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert '<span class="big" id="recipients">1</span>' in preview
    # Shown again for editing, the group stays ticked.
    edit = client.get(f"/dashboard/compose/{circular.id}").get_data(as_text=True)
    assert f'name="interest_groups" value="{world.kids_x.id}" checked' in edit
    # Another association's group, forged: refused, nothing saved.
    forged = client.post(
        "/dashboard/compose", data={**data, "interest_groups": [str(world.kids_y.id)]}
    )
    assert forged.status_code == 400
    too_large = client.post(
        "/dashboard/compose", data={**data, "interest_groups": [str(MAX_ID + 1)]}
    )
    assert too_large.status_code == 400
    assert session.scalar(select(func.count()).select_from(Circular)) == 1


def test_the_associations_page_links_to_the_groups_each_viewer_manages(
    world: World, dashboard_client: Callable[..., Any]
) -> None:
    links = {
        who: dashboard_client(getattr(world, who))
        .get("/dashboard/associations")
        .get_data(as_text=True)
        for who in ("promoter_a", "officer_x", "leader_x")
    }
    x_groups, a_groups = routes(world)["list_x"], routes(world)["district_a"]
    assert x_groups in links["promoter_a"] and a_groups in links["promoter_a"]
    assert x_groups in links["officer_x"] and a_groups not in links["officer_x"]
    assert x_groups not in links["leader_x"] and a_groups not in links["leader_x"]
