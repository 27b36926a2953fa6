"""What the month's quota holds back is told once and resumed from the dashboard (issue #20,
item 7): a held follow-up, a held scheduled card, a pause by LINE's monthly limit."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from linebot_app.cli import cli
from linebot_app.extensions import db, line
from models import (
    MAX_ID,
    Association,
    BatchStatus,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    HoldNotice,
    QuotaHold,
    Role,
    StaffMember,
    StaffRole,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


class Town:
    """Five residents and an author and an admin who are LINE users of the simulator."""

    def __init__(
        self,
        session: Session,
        clock: FakeClock,
        sim: SimulatorClient,
        worker: Worker,
        association: Association,
        make_circular: Callable[..., Circular],
        make_line_residents: Callable[..., list[str]],
    ) -> None:
        self.session, self.clock, self.sim, self.worker = session, clock, sim, worker
        self.association, self.make_circular = association, make_circular
        self.user_ids = make_line_residents(5, association)
        author_id, admin_id = sim.create_users(2)
        self.author = self.staff(author_id, Role.promoter, district_id=association.district_id)
        self.admin = self.staff(admin_id, Role.admin)
        self.clockwork = Clockwork(
            db.sessionmaker,
            line(),
            clock,
            ClockSettings(QuietHours.parse("21:00-08:00"), "https://kairan.test/dashboard/"),
            holder="clock-A",
            random=lambda: 0.5,
        )

    def staff(self, line_id: str, role: Role, **scope: Any) -> StaffMember:
        member = StaffMember(line_user_id=line_id, display_name=line_id[-4:])
        member.roles.append(StaffRole(role=role, **scope))
        self.session.add(member)
        self.session.commit()
        return member

    def circular(self, **fields: Any) -> Circular:
        return self.make_circular(
            author=self.author, targets=[CircularTarget(association=self.association)], **fields
        )

    def released(self, at: datetime) -> Circular:
        self.clock.moment = at
        circular = self.circular()
        assert release(self.session, self.clock, circular, remaining_quota(line())).released
        self.session.commit()
        self.worker.drain()
        return circular

    def quota_left(self, left: int) -> None:
        self.sim.set_quota(limit=self.sim.quota()["used"] + left)

    def at(self, moment: datetime) -> None:
        self.clock.moment = moment
        self.clockwork.tick()
        self.worker.drain()

    def inbox(self, member: StaffMember) -> list[str]:
        return [m["message"]["text"] for m in self.sim.inbox(member.line_user_id)]

    def residents_got(self) -> list[int]:
        counts = self.sim.inbox_counts()
        return [counts.get(user_id, 0) for user_id in self.user_ids]

    def holds(self) -> list[QuotaHold]:
        self.session.expire_all()
        return list(self.session.scalars(select(QuotaHold).order_by(QuotaHold.id)))


@pytest.fixture
def town(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    make_association: Callable[..., Association],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> Town:
    association = make_association(name="梅町内会")
    return Town(session, clock, sim, worker, association, make_circular, make_line_residents)


def resume_form(client: Any, circular: Circular) -> tuple[str, dict[str, str]]:
    page = client.get(f"/dashboard/circulars/{circular.id}").get_data(as_text=True)
    action = f"/dashboard/circulars/{circular.id}/resume"
    assert f'action="{action}"' in page, "no 「再開」 button"
    token = re.search(r'id="resume-csrf" name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    return action, {"csrf_token": token.group(1)}


def test_a_held_follow_up_is_told_once_however_often_the_clock_ticks(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    circular = town.released(tokyo(1, 10))
    town.quota_left(3)  # the first reminder needs 5
    for minute in (0, 1, 2):
        town.at(tokyo(2, 10, minute))
    assert town.residents_got() == [1] * 5, "nothing sent half"
    (held,) = town.holds()
    assert (held.circular_id, held.slot, held.ended_at) == (circular.id, "reminder-1", None)
    (notice,) = town.inbox(town.author)
    assert "【配信の保留】" in notice and "確認のお願い（1回目）" in notice
    assert "必要 5 通、残り 3 通" in notice
    assert f"https://kairan.test/dashboard/circulars/{circular.id}" in notice
    assert circular.body not in notice
    assert len(town.inbox(town.admin)) == 1
    # The logs name ids only: neither the circular's words nor who was told.
    for secret in (circular.title, circular.body, town.author.line_user_id):
        assert secret not in caplog.text


def test_a_notice_whose_answer_was_lost_is_resent_with_its_key_and_arrives_once(
    town: Town, session: Session
) -> None:
    town.released(tokyo(1, 10))
    town.quota_left(3)
    # LINE takes each push but its answer never arrives: as if the clock died after the call.
    town.sim.set_faults(acceptThenDrop=1.0, seed=1, paths=["/v2/bot/message/push"])
    town.at(tokyo(2, 10))
    town.sim.clear_faults()
    session.expire_all()
    lost = session.scalars(select(HoldNotice)).all()
    assert lost and all(n.status is BatchStatus.pending and n.attempts == 1 for n in lost)
    town.at(tokyo(2, 10, 1))
    town.at(tokyo(2, 10, 2))
    assert len(town.inbox(town.author)) == 1
    assert len(town.inbox(town.admin)) == 1
    session.expire_all()
    assert {n.status for n in session.scalars(select(HoldNotice))} == {BatchStatus.accepted}


def test_a_held_follow_up_resumes_from_the_dashboard(
    town: Town, dashboard_client: Callable[..., Any]
) -> None:
    circular = town.released(tokyo(1, 10))
    town.quota_left(3)
    town.at(tokyo(2, 10))
    client = dashboard_client(town.author)
    page = client.get(f"/dashboard/circulars/{circular.id}").get_data(as_text=True)
    assert "今月のメッセージ上限のため保留中" in page and "確認のお願い（1回目）" in page
    month = client.get("/dashboard/messages").get_data(as_text=True)
    assert f'href="/dashboard/circulars/{circular.id}"' in month
    assert "確認のお願い（1回目）" in month
    action, form = resume_form(client, circular)
    assert client.post(action, data={}).status_code == 400, "CSRF"
    short = client.post(action, data=form, follow_redirects=True).get_data(as_text=True)
    assert "今月のメッセージ残数が足りません" in short and "必要 5 通" in short
    assert town.holds()[0].ended_at is None
    town.sim.set_quota(limit=1000)
    done = client.post(action, data=form, follow_redirects=True).get_data(as_text=True)
    assert "送信を再開しました" in done
    town.worker.drain()
    assert town.residents_got() == [2] * 5
    assert town.holds()[0].ended_at is not None
    again = client.post(action, data=form, follow_redirects=True).get_data(as_text=True)
    assert "この回覧は一時停止していません" in again
    # The clock finds nothing left to do, and sends the reminder no second time.
    town.at(tokyo(2, 10, 5))
    assert town.residents_got() == [2] * 5
    assert len(town.inbox(town.author)) == 1


def test_a_scheduled_circular_held_for_quota_is_told_once_and_resumes_from_the_dashboard(
    town: Town, dashboard_client: Callable[..., Any]
) -> None:
    town.clock.moment = tokyo(1, 9)
    circular = town.circular(status=CircularStatus.scheduled, scheduled_at=tokyo(1, 10))
    town.session.commit()
    town.quota_left(4)
    town.at(tokyo(1, 10))
    town.at(tokyo(1, 10, 1))
    assert town.residents_got() == [0] * 5
    (held,) = town.holds()
    assert held.slot == "card" and held.needed == 5
    (notice,) = town.inbox(town.author)
    assert "回覧「清掃活動のお知らせ」のカード" in notice
    town.sim.set_quota(limit=1000)
    client = dashboard_client(town.admin)
    action, form = resume_form(client, circular)
    done = client.post(action, data=form, follow_redirects=True).get_data(as_text=True)
    assert "送信を再開しました" in done
    town.worker.drain()
    assert town.residents_got() == [1] * 5
    assert town.holds()[0].ended_at is not None


def test_a_pause_by_the_monthly_limit_becomes_one_hold_whose_notice_waits_for_quota(
    town: Town, session: Session
) -> None:
    circular = town.released(tokyo(1, 10))
    town.clock.moment = tokyo(2, 10)
    town.clockwork.tick()
    town.quota_left(2)
    town.worker.drain()  # the reminder meets LINE's monthly limit
    town.sim.set_quota(limit=town.sim.quota()["used"])
    town.at(tokyo(2, 10, 1))
    town.at(tokyo(2, 10, 2))
    (held,) = town.holds()
    assert (held.circular_id, held.slot, held.ended_at) == (circular.id, "reminder-1", None)
    # Nothing is left to push the notice with: it waits, once, with its key.
    assert town.inbox(town.author) == []
    session.expire_all()
    waiting = session.scalars(select(HoldNotice)).all()
    assert len(waiting) == 2 and all(n.status is BatchStatus.pending for n in waiting)
    town.sim.set_quota(limit=1000)
    town.at(tokyo(2, 11))
    assert town.residents_got() == [2] * 5
    assert town.holds()[0].ended_at is not None


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("author", 302),
        ("admin", 302),
        ("other_promoter", 404),
        ("officer_elsewhere", 404),
        ("none", 302),
    ],
)
def test_who_may_press_resume(
    who: str,
    expected: int,
    town: Town,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
    make_district: Callable[..., Any],
    make_association: Callable[..., Association],
) -> None:
    circular = town.released(tokyo(1, 10))
    town.quota_left(3)
    town.at(tokyo(2, 10))
    elsewhere = make_association(district=make_district(name="B校区"), name="Y町内会")
    members = {
        "author": town.author,
        "admin": town.admin,
        "other_promoter": make_staff(Role.promoter, district_id=elsewhere.district_id),
        "officer_elsewhere": make_staff(Role.officer, association_id=elsewhere.id),
        "none": None,
    }
    client = dashboard_client(members[who])
    action = f"/dashboard/circulars/{circular.id}/resume"
    # Out of scope is refused before the form is read: 404, as for an id that does not exist.
    form = resume_form(client, circular)[1] if expected == 302 and who != "none" else {}
    response = client.post(action, data=form)
    assert response.status_code == expected
    if who == "other_promoter":
        month = client.get("/dashboard/messages").get_data(as_text=True)
        assert f"/dashboard/circulars/{circular.id}" not in month, "another area's hold"
    if who == "none":
        assert "/login" in response.headers["Location"]
    else:
        too_large = client.post(f"/dashboard/circulars/{MAX_ID + 1}/resume", data=form)
        assert too_large.status_code == 404
    count = town.session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.slot == "reminder-1")
    )
    assert count == 0, "nobody resumed it past the quota"


def test_a_held_follow_up_resumes_from_the_command(town: Town, app: Flask) -> None:
    circular = town.released(tokyo(1, 10))
    town.quota_left(3)
    town.at(tokyo(2, 10))
    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)
    short = runner.invoke(cli, ["circulars", "send", str(circular.id)], obj=info)
    assert short.exit_code != 0 and "必要 5 通" in short.output
    town.sim.set_quota(limit=1000)
    resumed = runner.invoke(cli, ["circulars", "send", str(circular.id)], obj=info)
    assert resumed.exit_code == 0 and "resumed" in resumed.output, resumed.output
    town.worker.drain()
    assert town.residents_got() == [2] * 5
