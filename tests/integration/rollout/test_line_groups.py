"""The association's LINE group (issue #23, item 3), through the simulator: the bot invited to a
group says how to link it; an officer's code links it; the group's chatter is never acted on,
stored or logged; a circular chosen for the group is posted there once, even when LINE's answer
to the push is lost and it is retried; members leaving change its cost; removal and the
dashboard's 「退出」 unlink it. And the link page's role matrix, CSRF and other areas' ids."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.worker import Worker
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from linebot_app.extensions import db, line
from models import (
    Association,
    Base,
    BatchStatus,
    Circular,
    CircularTarget,
    GroupPost,
    LineGroup,
    ProcessedWebhookEvent,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.servers import serving_line

CHATTER = "明日の草むしり、9時集合でいいですか？ 090-1234-5678"


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def link_code(client: Any, association_id: int) -> str:
    page = client.get(f"/dashboard/associations/{association_id}/line-groups").get_data(
        as_text=True
    )
    answer = client.post(
        f"/dashboard/associations/{association_id}/line-groups/code",
        data={"csrf_token": csrf(page)},
    )
    assert answer.status_code == 200
    found = re.search(r'id="link-code"[^>]*>(RENKEI-[0-9A-Z-]+)<', answer.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def texts(sim: SimulatorClient, group_id: str) -> list[str]:
    return [m["message"]["text"] for m in sim.group_inbox(group_id)]


@pytest.fixture
def served(app: Flask, sim: SimulatorClient) -> Iterator[str]:
    with serving_line(app, sim) as base:
        yield base


@pytest.fixture
def town(
    session: Session,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_line_residents: Callable[..., list[str]],
) -> dict[str, Any]:
    association = make_association(name="東町自治会")
    residents = make_line_residents(3, association)
    officer = make_staff(Role.officer, association_id=association.id)
    session.commit()
    return {"association": association, "residents": residents, "officer": officer}


def test_a_linked_group_gets_the_circular_once_and_its_chatter_is_ignored(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    served: str,
    town: dict[str, Any],
    clock: FakeClock,
    worker: Worker,
    make_circular: Callable[..., Circular],
    dashboard_client: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    association, officer = town["association"], town["officer"]
    members = [*town["residents"][:2], *sim.create_users(2, "会員")]
    group_id = sim.create_group("東町自治会 連絡", members)

    sim.group_act(group_id, "invite-bot")
    assert len(texts(sim, group_id)) == 1
    assert "連携コード" in texts(sim, group_id)[0]

    client = dashboard_client(officer)
    code = link_code(client, association.id)
    handled_before = session.scalar(select(func.count()).select_from(ProcessedWebhookEvent))
    chatter = sim.group_act(group_id, "text", user_id=members[0], text=CHATTER)
    assert chatter["webhook"]["status"] == 200
    # Not claimed, not answered: as if never said.
    assert session.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) == (
        handled_before
    )
    assert len(texts(sim, group_id)) == 1

    linking = sim.group_act(group_id, "text", user_id=members[1], text=code.lower())
    assert (
        texts(sim, group_id)[-1] == "このグループを「東町自治会」のLINEグループとして連携しました。"
    )
    linked = session.scalars(select(LineGroup)).one()
    assert (linked.association_id, linked.member_count, linked.active) == (association.id, 4, True)
    assert linked.linked_by_id == officer.id
    # LINE redelivers the code's event: handled once, answered once.
    sim.redeliver(linking["event"]["webhookEventId"])
    assert len(texts(sim, group_id)) == 2
    # The code is single use: typed again, it links nothing and says so.
    sim.group_act(group_id, "text", user_id=members[1], text=code)
    assert "使えません" in texts(sim, group_id)[-1]
    sim.group_act(group_id, "text", user_id=members[2], text=CHATTER + "（再）")

    circular = make_circular(author=officer, line_group_post=True)
    session.add(CircularTarget(circular_id=circular.id, association_id=association.id))
    session.commit()
    preview = client.get(f"/dashboard/compose/{circular.id}/preview").get_data(as_text=True)
    assert re.search(r'id="line-group-members">4<', preview)
    assert re.search(r'id="quota-needed">7<', preview)  # 3 residents + 4 group members
    compose = client.get(f"/dashboard/compose/{circular.id}").get_data(as_text=True)
    assert "自治会のLINEグループにも投稿" in compose and "東町自治会：4人（4通）" in compose

    sim.set_quota(1000, used=0)
    assert release(session, clock, circular, 1000).released
    session.commit()
    worker.drain()
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(QuietHours.parse("21:00-08:00"), "https://kairan.test/dashboard/"),
        holder="clock-A",
        random=lambda: 0.5,
    )
    # LINE posts it, but its answer is lost: the post is retried with the same key.
    sim.set_faults(acceptThenError500=1.0, paths=["/v2/bot/message/push"])
    assert clockwork.send_group_posts() == 0
    sim.clear_faults()
    post = session.scalars(select(GroupPost)).one()
    session.refresh(post)
    assert (post.status, post.attempts) == (BatchStatus.pending, 1)
    clock.advance(minutes=30)
    assert clockwork.send_group_posts() == 1
    assert clockwork.send_group_posts() == 0
    posted = [t for t in texts(sim, group_id) if t.startswith("【回覧】")]
    assert posted == [
        f"【回覧】{circular.title}\n\n{circular.body}\n\n" + posted[0].split("\n\n")[2]
    ]
    retries = [r for r in sim.requests_log("/v2/bot/message/push") if r["body"]["to"] == group_id]
    assert len(retries) == 2 and retries[0]["retryKey"] == retries[1]["retryKey"]
    assert sim.quota()["used"] == 3 + 4

    # Members leaving change what the next post costs; removal unlinks the group.
    sim.group_act(group_id, "leave", user_id=members[3])
    session.refresh(linked)
    assert linked.member_count == 3
    sim.group_act(group_id, "remove-bot")
    session.refresh(linked)
    assert linked.active is False and linked.left_at is not None

    # The chatter is nowhere: no row of any table, no log line.
    session.commit()
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            assert "草むしり" not in repr(row), table.name
    assert "草むしり" not in caplog.text
    # Kairan's own lines name events and rows by id, never the group's LINE id (the
    # simulator's and the libraries' lines are not Kairan's).
    ours = [
        r.getMessage() for r in caplog.records if r.name.startswith(("linebot_app", "broadcasts"))
    ]
    assert ours and not [line for line in ours if group_id in line]


def test_the_dashboard_leave_unlinks_and_the_bot_leaves(
    session: Session,
    sim: SimulatorClient,
    served: str,
    town: dict[str, Any],
    dashboard_client: Callable[..., Any],
) -> None:
    association, officer = town["association"], town["officer"]
    group_id = sim.create_group("連絡", sim.create_users(2, "会員"))
    sim.group_act(group_id, "invite-bot")
    client = dashboard_client(officer)
    code = link_code(client, association.id)
    # Sent to the bot's own chat by mistake: told where it goes, and still unused.
    member = sim.group(group_id)["memberIds"][0]
    sim.text(member, code)
    assert sim.inbox(member)[-1]["message"]["text"] == (
        "このコードは、自治会のLINEグループのトークに送ってください。"
    )
    sim.group_act(group_id, "text", user_id=member, text=code)
    linked = session.scalars(select(LineGroup)).one()
    page = client.get(f"/dashboard/associations/{association.id}/line-groups")
    body = page.get_data(as_text=True)
    assert f'data-line-group="{linked.id}"' in body
    answer = client.post(
        f"/dashboard/line-groups/{linked.id}/leave", data={"csrf_token": csrf(body)}
    )
    assert answer.status_code == 302
    assert sim.group(group_id)["botMember"] is False
    session.refresh(linked)
    assert linked.active is False
    # Gone from the page, and a second leave of it is a 404.
    again = client.post(
        f"/dashboard/line-groups/{linked.id}/leave", data={"csrf_token": csrf(body)}
    )
    assert again.status_code == 404


def test_link_page_role_matrix_csrf_and_other_areas(
    session: Session,
    town: dict[str, Any],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association = town["association"]
    other = make_association()
    theirs = LineGroup(
        line_group_id="C" + "1" * 32,
        association_id=other.id,
        linked_by_id=make_staff(Role.officer, association_id=other.id).id,
        linked_at=datetime(2026, 12, 1, tzinfo=UTC),
        member_count=5,
    )
    session.add(theirs)
    group = make_association(groups=("1班",))
    staff = {
        "admin": (make_staff(Role.admin), 200),
        "promoter": (make_staff(Role.promoter, district_id=association.district_id), 404),
        "officer in": (town["officer"], 200),
        "officer out": (make_staff(Role.officer, association_id=other.id), 404),
        "leader": (make_staff(Role.group_leader, group_id=group.groups[0].id), 404),
    }
    session.commit()
    path = f"/dashboard/associations/{association.id}/line-groups"
    for who, (member, status) in staff.items():
        client = dashboard_client(member)
        assert client.get(path).status_code == status, who
        page = client.get("/dashboard/").get_data(as_text=True)
        token = csrf(page)
        answer = client.post(f"{path}/code", data={"csrf_token": token})
        assert answer.status_code == status, who
    anonymous = dashboard_client(None).get(path)
    assert anonymous.status_code == 302 and "/dashboard/login" in anonymous.location

    officer = dashboard_client(town["officer"])
    token = csrf(officer.get(path).get_data(as_text=True))
    # Without the token: refused, and no code issued.
    assert officer.post(f"{path}/code").status_code == 400
    # Another association's group, an id that does not exist, one out of range.
    for group_path in (theirs.id, 999_999, 2**63):
        answer = officer.post(
            f"/dashboard/line-groups/{group_path}/leave", data={"csrf_token": token}
        )
        assert answer.status_code == 404
    assert (
        officer.post(
            f"/dashboard/associations/{other.id}/line-groups/code", data={"csrf_token": token}
        ).status_code
        == 404
    )
    session.refresh(theirs)
    assert theirs.active is True
    # The admin's and the officer's, from the matrix; none from the refused posts.
    assert session.execute(text("SELECT count(*) FROM line_group_codes")).scalar() == 2


def test_compose_offers_the_linked_group_and_saves_the_choice(
    session: Session,
    town: dict[str, Any],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association, officer = town["association"], town["officer"]
    client = dashboard_client(officer)
    # No group linked: nothing offered.
    assert "自治会のLINEグループにも投稿" not in client.get("/dashboard/compose").get_data(
        as_text=True
    )
    session.add(
        LineGroup(
            line_group_id="C" + "2" * 32,
            association_id=association.id,
            linked_by_id=officer.id,
            linked_at=datetime(2026, 12, 1, tzinfo=UTC),
            member_count=6,
        )
    )
    session.commit()
    page = client.get("/dashboard/compose").get_data(as_text=True)
    assert "東町自治会：6人（6通）" in page
    made = client.post(
        "/dashboard/compose",
        data={
            "csrf_token": csrf(page),
            "title": "夏祭りのお知らせ",
            "body": "8月1日に公園で行います。",
            "associations": [str(association.id)],
            "line_group_post": "y",
        },
    )
    assert made.status_code == 302
    circular = session.scalars(select(Circular)).one()
    assert circular.line_group_post is True
    preview = client.get(f"/dashboard/compose/{circular.id}/preview").get_data(as_text=True)
    assert re.search(r'id="line-group-members">6<', preview)
    assert "自治会のLINEグループへの投稿" in preview  # the budget's line for it
    # Another association's officer is offered no group of this association.
    stranger = make_staff(Role.officer, association_id=make_association().id)
    other_page = dashboard_client(stranger).get("/dashboard/compose").get_data(as_text=True)
    assert "東町自治会：6人" not in other_page
