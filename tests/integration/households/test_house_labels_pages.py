"""「世帯の表示名」 on the dashboard: who sees which page, who may write, CSRF, ids of other areas
and out of range, formula-like labels, and no label in the logs or the access log's format."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.households import labels
from linebot_app import gunicorn_conf
from models import (
    MAX_ID,
    Association,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    District,
    LabelRequest,
    Resident,
    Role,
    StaffMember,
)
from tests.helpers.clock import FakeClock

FORMULA = '=HYPERLINK("http://x","山田")'
SECRET = "3班 山田（12-3）"


@dataclass
class Town:
    district: District
    association: Association
    other: Association
    first: Resident
    second: Resident
    elsewhere: Resident


@pytest.fixture
def town(
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
) -> Town:
    district = make_district()
    association = make_association(district=district, name="桜町内会", groups=("1班", "2班"))
    other = make_association(district=district, name="梅町内会", groups=("1班",))
    one, two = association.groups
    return Town(
        district,
        association,
        other,
        make_resident(association=association, group=one, display_name="さくら"),
        make_resident(association=association, group=two, display_name="もも"),
        make_resident(association=other, group=other.groups[0], display_name="うめ"),
    )


def members(town: Town, make_staff: Callable[..., StaffMember]) -> dict[str, StaffMember]:
    return {
        "admin": make_staff(Role.admin),
        "promoter in": make_staff(Role.promoter, district_id=town.district.id),
        "officer in": make_staff(Role.officer, association_id=town.association.id),
        "officer out": make_staff(Role.officer, association_id=town.other.id),
        "leader own": make_staff(Role.group_leader, group_id=town.first.group_id),
        "leader other": make_staff(Role.group_leader, group_id=town.second.group_id),
    }


def token(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_who_sees_which_page(
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    staff = members(town, make_staff)
    association = f"/dashboard/associations/{town.association.id}/labels"
    group = f"/dashboard/groups/{town.first.group_id}/labels"
    expected = {
        "admin": (200, 200),
        "promoter in": (404, 404),
        "officer in": (200, 200),
        "officer out": (404, 404),
        "leader own": (404, 200),
        "leader other": (404, 404),
    }
    for who, (on_association, on_group) in expected.items():
        client = dashboard_client(staff[who])
        assert client.get(association).status_code == on_association, who
        assert client.get(group).status_code == on_group, who
    # Linked from the pages each of them starts from.
    listed = dashboard_client(staff["officer in"]).get("/dashboard/associations")
    assert association in listed.get_data(as_text=True)
    groups = dashboard_client(staff["leader own"]).get("/dashboard/groups").get_data(as_text=True)
    assert group in groups
    page = dashboard_client(staff["leader own"]).get(group).get_data(as_text=True)
    assert "さくら" in page and "もも" not in page and "うめ" not in page
    anonymous = dashboard_client(None)
    for path in (association, group):
        answer = anonymous.get(path)
        assert answer.status_code == 302 and "/dashboard/login" in answer.location


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("admin", True),
        ("promoter in", False),
        ("officer in", True),
        ("officer out", False),
        ("leader own", True),
        ("leader other", False),
    ],
)
def test_who_may_label_and_answer_on_the_dashboard(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
    who: str,
    allowed: bool,
) -> None:
    member = members(town, make_staff)[who]
    labels.ask(session, clock, town.first, "1班 やまだ")
    client = dashboard_client(member)
    # Any dashboard page gives the session's token; the scope decides the rest.
    csrf = token(client.get("/dashboard/safety").get_data(as_text=True))
    resident_id = town.first.id
    saved = client.post(
        f"/dashboard/residents/{resident_id}/label", data={"csrf_token": csrf, "label": SECRET}
    )
    answered = client.post(
        f"/dashboard/residents/{resident_id}/label-request",
        data={"csrf_token": csrf, "answer": "decline", "requested": "1班 やまだ"},
    )
    session.expire_all()
    if allowed:
        assert saved.status_code == answered.status_code == 302
        assert labels.label_of(session, resident_id) == labels.clean(SECRET)
        assert session.get(LabelRequest, resident_id) is None
        assert SECRET not in saved.location
    else:
        assert saved.status_code == answered.status_code == 404
        assert labels.label_of(session, resident_id) is None
        assert session.get(LabelRequest, resident_id) is not None


def test_writes_need_the_csrf_token(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    resident_id = town.first.id
    for path, data in (
        (f"/dashboard/residents/{resident_id}/label", {"label": SECRET}),
        (
            f"/dashboard/residents/{resident_id}/label-request",
            {"answer": "approve", "requested": "山田"},
        ),
        (f"/dashboard/residents/{resident_id}/label", {"label": SECRET, "csrf_token": "x"}),
    ):
        assert client.post(path, data=data).status_code == 400
    session.expire_all()
    assert labels.label_of(session, resident_id) is None


def test_ids_of_other_areas_and_out_of_range_name_nothing(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    csrf = token(client.get("/dashboard/safety").get_data(as_text=True))
    too_large = MAX_ID + 1
    for path in (
        f"/dashboard/associations/{town.other.id}/labels",
        f"/dashboard/groups/{town.other.groups[0].id}/labels",
        f"/dashboard/associations/{too_large}/labels",
        f"/dashboard/groups/{too_large}/labels",
        "/dashboard/groups/0/labels",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "integer" not in answer.get_data(as_text=True)
    for resident_id in (town.elsewhere.id, too_large, 0, 999_999):
        for path, data in (
            (f"/dashboard/residents/{resident_id}/label", {"label": SECRET}),
            (
                f"/dashboard/residents/{resident_id}/label-request",
                {"answer": "approve", "requested": "山田"},
            ),
        ):
            answer = client.post(path, data={"csrf_token": csrf, **data})
            assert answer.status_code == 404, path
    session.expire_all()
    assert labels.label_of(session, town.elsewhere.id) is None
    # Nonsense pages and forms are refused cleanly, never a server error.
    page = f"/dashboard/associations/{town.association.id}/labels"
    assert client.get(f"{page}?page={10**20}").status_code == 200
    assert client.get(f"{page}?q={'x' * 5000}").status_code == 200
    forged = client.post(
        f"/dashboard/residents/{town.first.id}/label-request",
        data={"csrf_token": csrf, "answer": "delete", "requested": "山田"},
    )
    assert forged.status_code == 400
    saved = client.post(
        f"/dashboard/residents/{town.first.id}/label",
        data={"csrf_token": csrf, "label": "山田", "page": str(10**20)},
    )
    assert saved.status_code in (302, 400)


def test_a_label_too_long_is_refused_with_the_reason(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    page = f"/dashboard/associations/{town.association.id}/labels"
    csrf = token(client.get(page).get_data(as_text=True))
    answer = client.post(
        f"/dashboard/residents/{town.first.id}/label",
        data={"csrf_token": csrf, "label": "あ" * 41},
        follow_redirects=True,
    )
    assert "表示名は40文字までにしてください" in answer.get_data(as_text=True)
    session.expire_all()
    assert labels.label_of(session, town.first.id) is None


def test_formula_like_labels_are_shown_as_text_and_reach_no_csv(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    dashboard_client: Callable[..., Any],
) -> None:
    officer = make_staff(Role.officer, association_id=town.association.id)
    circular = make_circular(status=CircularStatus.sent, author=officer, question="出席しますか")
    session.add(
        Delivery(
            circular=circular,
            resident=town.first,
            status=DeliveryStatus.sent,
            association_id=town.association.id,
            group_id=town.first.group_id,
        )
    )
    labels.ask(session, clock, town.second, "+SUM(A1:A9)")
    client = dashboard_client(officer)
    page = f"/dashboard/associations/{town.association.id}/labels"
    csrf = token(client.get(page).get_data(as_text=True))
    client.post(
        f"/dashboard/residents/{town.first.id}/label", data={"csrf_token": csrf, "label": FORMULA}
    )
    shown = client.get(page).get_data(as_text=True)
    # Escaped in the page like any text.
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;山田&#34;)" in shown
    assert "+SUM(A1:A9)" in shown
    not_confirmed = client.get(
        f"/dashboard/circulars/{circular.id}/not-confirmed?association={town.association.id}"
    )
    assert not_confirmed.status_code == 200
    assert "=HYPERLINK(&#34;" in not_confirmed.get_data(as_text=True)
    # The exports carry counts and options, never a resident's name or label.
    for export in ("stats.csv", "answers.csv"):
        body = client.get(f"/dashboard/circulars/{circular.id}/{export}").get_data(as_text=True)
        assert "HYPERLINK" not in body and "SUM(" not in body


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logs() -> Iterator[Collected]:
    handler = Collected()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def test_no_label_in_the_logs_and_the_access_log_leaves_the_query_out(
    logs: Collected,
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    labels.ask(session, clock, town.second, "2班 もものき")
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    page = f"/dashboard/associations/{town.association.id}/labels"
    csrf = token(client.get(page).get_data(as_text=True))
    client.post(
        f"/dashboard/residents/{town.first.id}/label", data={"csrf_token": csrf, "label": SECRET}
    )
    client.post(
        f"/dashboard/residents/{town.second.id}/label-request",
        data={"csrf_token": csrf, "answer": "approve", "requested": "2班 もものき", "q": "山田"},
    )
    assert "山田" in client.get(f"{page}?q=山田").get_data(as_text=True)
    for line in logs.lines:
        assert "山田" not in line and "もものき" not in line
    # gunicorn's access log writes the path (%(U)s), never the query string (%(q)s, %(r)s)
    # where the search word travels.
    assert "%(U)s" in gunicorn_conf.access_log_format
    assert "%(q)s" not in gunicorn_conf.access_log_format
    assert "%(r)s" not in gunicorn_conf.access_log_format
    session.expire_all()
    assert session.scalars(select(LabelRequest)).all() == []
