"""The compose form's target picker at city scale (issue #20), without JavaScript (the plain,
paged form through the test client), and its two endpoints under attack: the role matrix, CSRF,
other areas' ids and ids out of range."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars import target_search
from broadcasts.rollout import area_file, areas
from models import (
    MAX_ID,
    Association,
    Circular,
    CircularTarget,
    District,
    DistrictStatus,
    Group,
    Resident,
    Role,
    StaffMember,
)
from tests.helpers.settings import SAMPLE_AREAS

SERIAL = itertools.count(1)


@dataclass
class City:
    hirano: District  # 平野校区 (ひらのこうく), D01
    other: District
    kaede: Association  # 楓西町内会 (かえでにしちょうないかい), in 平野
    foreign: Association  # an association of another district
    group: Group
    admin: StaffMember
    promoter: StaffMember
    officer: StaffMember
    leader: StaffMember


def _residents(session: Session, association: Association, count: int, **fields: Any) -> None:
    session.add_all(
        Resident(line_user_id=f"U{next(SERIAL):032x}", association=association, **fields)
        for _ in range(count)
    )


@pytest.fixture
def city(session: Session, make_staff: Callable[..., StaffMember]) -> City:
    areas.import_areas(session, area_file.parse(SAMPLE_AREAS.read_bytes()))
    for district in session.scalars(select(District)):
        district.status = DistrictStatus.active
    hirano = session.scalars(select(District).where(District.code == "D01")).one()
    other = session.scalars(select(District).where(District.code != "D01")).first()
    assert other is not None
    kaede = session.scalars(select(Association).where(Association.code == "A0001")).one()
    foreign = session.scalars(
        select(Association).where(Association.district_id == other.id)
    ).first()
    assert foreign is not None
    group = Group(association=kaede, name="1班", position=1)
    session.add(group)
    session.flush()
    _residents(session, kaede, 3)
    _residents(session, kaede, 2, group=group)
    _residents(session, foreign, 4)
    city = City(
        hirano=hirano,
        other=other,
        kaede=kaede,
        foreign=foreign,
        group=group,
        admin=make_staff(Role.admin),
        promoter=make_staff(Role.promoter, district_id=hirano.id),
        officer=make_staff(Role.officer, association_id=kaede.id),
        leader=make_staff(Role.group_leader, group_id=group.id),
    )
    session.commit()
    return city


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def _chips(html: str) -> list[tuple[str, int]]:
    block = html.split('id="picker-chips"', 1)[1].split("</ul>", 1)[0]
    return [
        (kind, int(value))
        for kind, value in re.findall(r'name="(\w+)" value="(\d+)" checked>', block)
    ]


def _live_total(html: str) -> int:
    match = re.search(r'<strong id="live-total">(\d+)</strong>', html)
    assert match
    return int(match.group(1))


def _circulars(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Circular)) or 0


# --- the service -------------------------------------------------------------------------------


def test_kana_katakana_and_codes_find_areas_in_scope_only(session: Session, city: City) -> None:
    for typed in ("かえでにし", "カエデニシ", "ｶｴﾃﾞﾆｼ", "a0001", "楓西"):
        found = target_search.find(session, city.admin, typed)
        assert city.kaede.id in [a.id for a in found.associations], typed
    districts = target_search.find(session, city.admin, "ひらの").districts
    assert [d.id for d in districts] == [city.hirano.id]
    # A promoter finds nothing of another district, however it is typed.
    foreign = target_search.find(session, city.promoter, city.foreign.code)
    assert foreign.total == 0
    # Wildcards are typed text, not patterns.
    assert target_search.find(session, city.admin, "%").total == 0


# --- without JavaScript: the compose form, paged ----------------------------------------------


def test_the_admins_compose_page_is_small_and_lists_districts_not_associations(
    city: City, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(city.admin)
    html = client.get("/dashboard/compose").get_data(as_text=True)
    assert len(html.encode()) < 150_000
    assert html.count('name="districts"') == 45
    assert 'name="associations"' not in html
    assert 'id="picker-count" aria-live="polite"' in html
    assert 'for="picker_q"' in html


def test_without_javascript_the_admin_searches_opens_pages_picks_and_saves(
    city: City,
    session: Session,
    dashboard_client: Callable[..., Any],
    csrf_on: None,
) -> None:
    client = dashboard_client(city.admin)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))
    typed = {"csrf_token": token, "title": "夏祭り", "body": "8月1日です。"}

    # 「探す」 with kana: the form comes back with the results and what was typed; nothing saved.
    found = client.post(
        "/dashboard/compose", data={**typed, "picker_q": "ひらの", "picker": "search"}
    )
    assert found.status_code == 200
    html = found.get_data(as_text=True)
    assert f'name="districts" value="{city.hirano.id}"' in html
    assert 'value="夏祭り"' in html and "8月1日です。" in html
    assert _circulars(session) == 0

    # 「自治会を見る」: one district opened, a page at a time; its chosen district kept as a chip.
    opened = client.post(
        "/dashboard/compose",
        data={**typed, "districts": [str(city.hirano.id)], "picker_district": city.hirano.id},
    )
    html = opened.get_data(as_text=True)
    assert _chips(html) == [("districts", city.hirano.id)]
    in_hirano = session.scalar(
        select(func.count()).where(Association.district_id == city.hirano.id)
    )
    assert in_hirano is not None and in_hirano > target_search.PAGE_SIZE
    assert html.count('name="associations"') == target_search.PAGE_SIZE
    assert 'name="picker_page" value="2"' in html
    second = client.post(
        "/dashboard/compose",
        data={
            **typed,
            "districts": [str(city.hirano.id)],
            "picker_opened": city.hirano.id,
            "picker_page": "2",
        },
    ).get_data(as_text=True)
    assert _chips(second) == [("districts", city.hirano.id)]
    assert 'name="picker_page" value="1"' in second
    assert second.count('name="associations"') == min(
        in_hirano - target_search.PAGE_SIZE, target_search.PAGE_SIZE
    )

    # Tick a found association and 「えらんだ届け先を更新」: both are chips with their count.
    picked = client.post(
        "/dashboard/compose",
        data={
            **typed,
            "districts": [str(city.hirano.id)],
            "associations": [str(city.foreign.id)],
            "picker_q": city.foreign.name,
            "picker": "update",
        },
    ).get_data(as_text=True)
    assert sorted(_chips(picked)) == sorted(
        [("districts", city.hirano.id), ("associations", city.foreign.id)]
    )
    assert _live_total(picked) == 5 + 4
    # Already chosen, it is listed as such (ticked, locked), not as a second input.
    assert (
        f'name="associations" value="{city.foreign.id}" data-recipients="4" checked disabled'
        in (picked)
    )

    # Untick a chip and update: it is gone.
    removed = client.post(
        "/dashboard/compose",
        data={**typed, "associations": [str(city.foreign.id)], "picker": "update"},
    ).get_data(as_text=True)
    assert _chips(removed) == [("associations", city.foreign.id)]
    assert _live_total(removed) == 4
    assert _circulars(session) == 0

    # 「保存してプレビュー」 saves exactly the chips.
    saved = client.post(
        "/dashboard/compose",
        data={
            **typed,
            "districts": [str(city.hirano.id)],
            "associations": [str(city.foreign.id)],
        },
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/preview")
    circular = session.scalars(select(Circular)).one()
    assert {(t.district_id, t.association_id) for t in circular.targets} == {
        (city.hirano.id, None),
        (None, city.foreign.id),
    }


def test_a_promoters_district_is_opened_whole_and_others_never_show(
    city: City, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(city.promoter)
    html = client.get("/dashboard/compose").get_data(as_text=True)
    assert f'name="districts" value="{city.hirano.id}"' in html
    assert f'name="associations" value="{city.kaede.id}"' in html
    assert f'name="associations" value="{city.foreign.id}"' not in html
    assert f'name="districts" value="{city.other.id}"' not in html


# --- the endpoints under attack ----------------------------------------------------------------


def test_the_results_fragment_follows_the_role_matrix(
    city: City, dashboard_client: Callable[..., Any]
) -> None:
    anonymous = dashboard_client(None).get("/dashboard/compose/targets?q=ひらの")
    assert anonymous.status_code in (302, 401)
    assert dashboard_client(city.leader).get("/dashboard/compose/targets").status_code == 403

    admin = dashboard_client(city.admin).get(f"/dashboard/compose/targets?q={city.foreign.code}")
    assert admin.status_code == 200
    assert f'name="associations" value="{city.foreign.id}"' in admin.get_data(as_text=True)

    for member in (city.promoter, city.officer):
        client = dashboard_client(member)
        seen = client.get(f"/dashboard/compose/targets?q={city.foreign.code}")
        assert seen.status_code == 200
        assert f'name="associations" value="{city.foreign.id}"' not in seen.get_data(as_text=True)
        opened = client.get(f"/dashboard/compose/targets?district={city.other.id}")
        assert f'name="associations" value="{city.foreign.id}"' not in opened.get_data(as_text=True)
        mine = client.get("/dashboard/compose/targets?q=かえでにし").get_data(as_text=True)
        assert f'name="associations" value="{city.kaede.id}"' in mine
    officer = dashboard_client(city.officer).get("/dashboard/compose/targets?q=ひらの")
    # An officer may not target the whole district.
    assert f'name="districts" value="{city.hirano.id}"' not in officer.get_data(as_text=True)


def test_the_count_needs_the_forms_csrf_token_and_refuses_foreign_and_bad_ids(
    city: City, dashboard_client: Callable[..., Any], csrf_on: None
) -> None:
    client = dashboard_client(city.promoter)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))
    url = "/dashboard/compose/targets/chosen"

    forged = client.post(url, data={"associations": [str(city.kaede.id)]})
    assert forged.status_code == 400
    wrong = client.post(url, data={"csrf_token": "x" + token, "associations": [city.kaede.id]})
    assert wrong.status_code == 400

    ok = client.post(
        url,
        data={"csrf_token": token, "associations": [city.kaede.id], "groups": [city.group.id]},
    )
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["recipients"] == 5 and body["quota_messages"] == 5 and body["areas"] == 2
    assert f'value="{city.kaede.id}" checked' in body["chips"]

    for field, value in (
        ("associations", city.foreign.id),
        ("districts", city.other.id),
        ("associations", MAX_ID + 1),
        ("groups", 2**63),
        ("districts", -1),
        ("districts", "x"),
    ):
        refused = client.post(url, data={"csrf_token": token, field: [str(value)]})
        assert refused.status_code == 404, (field, value)
        listed = client.get(f"/dashboard/compose/targets?{field}={value}")
        assert listed.status_code == 404, (field, value)
    # Out-of-range pages are no pages.
    assert client.get("/dashboard/compose/targets?page=99999999999").status_code == 200

    leader = dashboard_client(city.leader)
    leader_token = _csrf(leader.get("/dashboard/").get_data(as_text=True))
    assert (
        leader.post(url, data={"csrf_token": leader_token, "groups": [city.group.id]}).status_code
        == 403
    )


def test_a_forged_foreign_target_in_the_form_is_refused_on_save(
    city: City, session: Session, dashboard_client: Callable[..., Any], csrf_on: None
) -> None:
    client = dashboard_client(city.promoter)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))
    response = client.post(
        "/dashboard/compose",
        data={
            "csrf_token": token,
            "title": "t",
            "body": "b",
            "associations": [str(city.foreign.id)],
        },
    )
    assert response.status_code == 400
    assert "担当の範囲外" in response.get_data(as_text=True)
    assert _circulars(session) == 0
    assert session.scalar(select(func.count()).select_from(CircularTarget)) == 0
