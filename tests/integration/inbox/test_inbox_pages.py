"""「住民からのメッセージ」 on the dashboard: only the association's officers read and answer,
CSRF, ids of other associations and out of range, formula-like text shown as text, and nothing
a resident wrote in the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.inbox import writing
from models import (
    MAX_ID,
    Association,
    InboxMessage,
    InboxPush,
    InboxThread,
    Resident,
    Role,
    StaffMember,
    ThreadStatus,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import last
from tests.helpers.servers import serving_line

SECRET = "裏の空き家に人が出入りしています"
ANSWER = "見回りをお願いしておきます"


@dataclass
class Town:
    association: Association
    other: Association
    resident: Resident
    thread: InboxThread
    elsewhere: InboxThread


@pytest.fixture
def town(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
) -> Town:
    association = make_association(name="桜町内会", groups=("1班", "2班"))
    other = make_association(district=association.district, name="梅町内会")
    resident = make_resident(
        association=association, group=association.groups[0], display_name="さくら"
    )
    neighbour = make_resident(association=other, display_name="うめ")
    assert writing.write(session, clock, resident, SECRET) == "sent"
    assert writing.write(session, clock, neighbour, "梅のこと") == "sent"
    threads = session.scalars(select(InboxThread).order_by(InboxThread.id)).all()
    session.commit()
    return Town(association, other, resident, threads[0], threads[1])


def members(town: Town, make_staff: Callable[..., StaffMember]) -> dict[str, StaffMember]:
    return {
        "admin": make_staff(Role.admin),
        "promoter in": make_staff(Role.promoter, district_id=town.association.district_id),
        "officer in": make_staff(Role.officer, association_id=town.association.id),
        "officer out": make_staff(Role.officer, association_id=town.other.id),
        "leader own": make_staff(Role.group_leader, group_id=town.resident.group_id),
    }


def token(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_only_the_associations_officers_see_the_list_and_the_thread(
    town: Town, make_staff: Callable[..., StaffMember], dashboard_client: Callable[..., Any]
) -> None:
    staff = members(town, make_staff)
    thread = f"/dashboard/inbox/{town.thread.id}"
    for who, (list_status, thread_status) in {
        "admin": (404, 404),
        "promoter in": (404, 404),
        "officer in": (200, 200),
        "officer out": (200, 404),
        "leader own": (404, 404),
    }.items():
        client = dashboard_client(staff[who])
        listed = client.get("/dashboard/inbox")
        assert listed.status_code == list_status, who
        assert client.get(thread).status_code == thread_status, who
        if list_status == 200:
            page = listed.get_data(as_text=True)
            assert (thread in page) is (who == "officer in"), who
            # The list names the household, never the body.
            assert SECRET not in page
    page = dashboard_client(staff["officer in"]).get(thread).get_data(as_text=True)
    assert SECRET in page and "さくら" in page and town.resident.line_user_id not in page
    # The menu links it for officers only.
    home = dashboard_client(staff["officer in"]).get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/inbox"' in home
    admin_home = dashboard_client(staff["admin"]).get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/inbox"' not in admin_home
    anonymous = dashboard_client(None)
    for path in ("/dashboard/inbox", thread):
        answer = anonymous.get(path)
        assert answer.status_code == 302 and "/dashboard/login" in answer.location


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("admin", False),
        ("promoter in", False),
        ("officer in", True),
        ("officer out", False),
        ("leader own", False),
    ],
)
def test_who_may_answer_and_set_the_status(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
    who: str,
    allowed: bool,
) -> None:
    client = dashboard_client(members(town, make_staff)[who])
    csrf = token(client.get("/dashboard/safety").get_data(as_text=True))
    thread_id = town.thread.id
    answered = client.post(
        f"/dashboard/inbox/{thread_id}/answer", data={"csrf_token": csrf, "body": ANSWER}
    )
    done = client.post(
        f"/dashboard/inbox/{thread_id}/status", data={"csrf_token": csrf, "status": "done"}
    )
    session.expire_all()
    thread = session.get_one(InboxThread, thread_id)
    answers = session.scalars(
        select(InboxMessage).where(InboxMessage.answered_by_id.is_not(None))
    ).all()
    if allowed:
        assert answered.status_code == done.status_code == 302
        assert [a.body for a in answers] == [ANSWER]
        assert thread.status is ThreadStatus.done
        assert ANSWER not in answered.location
    else:
        assert answered.status_code == done.status_code == 404
        assert answers == [] and thread.status is ThreadStatus.open


def test_writes_need_the_csrf_token(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    thread_id = town.thread.id
    for path, data in (
        (f"/dashboard/inbox/{thread_id}/answer", {"body": ANSWER}),
        (f"/dashboard/inbox/{thread_id}/status", {"status": "done"}),
        (f"/dashboard/inbox/{thread_id}/answer", {"body": ANSWER, "csrf_token": "x"}),
    ):
        assert client.post(path, data=data).status_code == 400
    session.expire_all()
    assert session.get_one(InboxThread, thread_id).status is ThreadStatus.open
    assert session.scalars(select(InboxPush).where(InboxPush.staff_member_id.is_(None))).all() == []


def test_ids_of_other_associations_and_out_of_range_name_nothing(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    csrf = token(client.get("/dashboard/inbox").get_data(as_text=True))
    for thread_id in (town.elsewhere.id, MAX_ID + 1, 0, 999_999, 10**20):
        answer = client.get(f"/dashboard/inbox/{thread_id}")
        assert answer.status_code == 404, thread_id
        body = answer.get_data(as_text=True)
        assert "integer" not in body
        if 0 < thread_id <= MAX_ID:
            # The site's own page, the same for another association's thread and none at all.
            assert "見つかりませんでした" in body
        for path, data in (
            (f"/dashboard/inbox/{thread_id}/answer", {"body": ANSWER}),
            (f"/dashboard/inbox/{thread_id}/status", {"status": "done"}),
        ):
            assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 404
    session.expire_all()
    assert session.get_one(InboxThread, town.elsewhere.id).status is ThreadStatus.open
    # Nonsense filters and forms are refused cleanly, never a server error.
    assert client.get(f"/dashboard/inbox?page={10**20}").status_code == 200
    assert client.get("/dashboard/inbox?status=deleted").status_code == 200
    forged = client.post(
        f"/dashboard/inbox/{town.thread.id}/status", data={"csrf_token": csrf, "status": "gone"}
    )
    assert forged.status_code == 400
    too_long = client.post(
        f"/dashboard/inbox/{town.thread.id}/answer",
        data={"csrf_token": csrf, "body": "あ" * (writing.BODY_LIMIT + 1)},
        follow_redirects=True,
    )
    assert "返信は1000文字までにしてください" in too_long.get_data(as_text=True)


def test_the_list_filters_by_status(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    dashboard_client: Callable[..., Any],
) -> None:
    officer = make_staff(Role.officer, association_id=town.association.id)
    client = dashboard_client(officer)
    second = make_resident(association=town.association, display_name="もも")
    writing.write(session, clock, second, "ごみ置き場のこと")
    session.commit()
    csrf = token(client.get("/dashboard/inbox").get_data(as_text=True))
    client.post(
        f"/dashboard/inbox/{town.thread.id}/status", data={"csrf_token": csrf, "status": "done"}
    )
    done = client.get("/dashboard/inbox?status=done").get_data(as_text=True)
    still_open = client.get("/dashboard/inbox?status=open").get_data(as_text=True)
    assert "さくら" in done and "もも" not in done
    assert "もも" in still_open and "さくら" not in still_open


def test_formula_like_text_is_shown_as_text(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    dashboard_client: Callable[..., Any],
) -> None:
    resident = make_resident(association=town.association, display_name="=cmd|' /C calc'!A0")
    writing.write(session, clock, resident, '=HYPERLINK("http://x","<b>開く</b>")')
    session.commit()
    client = dashboard_client(make_staff(Role.officer, association_id=town.association.id))
    thread = session.scalars(
        select(InboxThread).where(InboxThread.resident_id == resident.id)
    ).one()
    page = client.get(f"/dashboard/inbox/{thread.id}").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;&lt;b&gt;開く&lt;/b&gt;&#34;)" in page
    assert "<b>開く</b>" not in page


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


def test_nothing_written_or_answered_reaches_the_logs(
    logs: Collected,
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association = make_association(name="藤町内会")
    (user,) = make_line_residents(1, association)
    officer = make_staff(Role.officer, association_id=association.id)
    session.commit()
    with serving_line(app, sim):
        sim.text(user, "自治会へ " + SECRET)
        assert "自治会の役員に送りました" in last(sim, user)["text"]
    thread = session.scalars(
        select(InboxThread).where(InboxThread.association_id == association.id)
    ).one()
    client = dashboard_client(officer)
    csrf = token(client.get(f"/dashboard/inbox/{thread.id}").get_data(as_text=True))
    client.post(f"/dashboard/inbox/{thread.id}/answer", data={"csrf_token": csrf, "body": ANSWER})
    assert logs.lines, "the webhook and the dashboard log something"
    for line in logs.lines:
        assert SECRET not in line and ANSWER not in line and user not in line
