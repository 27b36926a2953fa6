"""「自治会へ」 in a real headless Chromium: a resident writes in LINE, the association's officer
is told in LINE (without the body), logs in, finds the message in 「住民からのメッセージ」,
answers it and marks it 完了; the clock pushes the answer and the resident gets it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff import logins
from linebot_app.extensions import db, line
from models import Association, InboxThread, Role, StaffMember, StaffRole, ThreadStatus
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import last

pytestmark = pytest.mark.browser

BODY = "2丁目の公園のブランコがこわれています"
ANSWER = "市に連絡しました。来週なおります"


def test_an_officer_answers_a_resident_from_the_dashboard(
    browser_page: Any,
    served: str,
    sim: SimulatorClient,
    session: Session,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    association = make_association(name="桜町内会", groups=("1班",))
    (user,) = make_line_residents(1, association, association.groups[0])
    (officer_id,) = sim.create_users(1)
    officer = StaffMember(line_user_id=officer_id, display_name="役員さん")
    officer.roles.append(StaffRole(role=Role.officer, association_id=association.id))
    session.add(officer)
    session.commit()
    # Daytime in Tokyo: an answer to a resident waits out quiet hours.
    clock = FakeClock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    settings = ClockSettings(QuietHours.parse("21:00-08:00"), f"{served}/dashboard/")
    clockwork = Clockwork(db.sessionmaker, line(), clock, settings, "browser", lambda: 0.5)

    sim.text(user, "自治会へ")
    sim.text(user, BODY)
    assert "自治会の役員に送りました" in last(sim, user)["text"]
    clockwork.tick()
    (notice,) = [m["message"]["text"] for m in sim.inbox(officer_id)]
    assert BODY not in notice
    link = notice.rsplit("：", 1)[1]

    issued = logins.issue(session, SystemClock(), officer)
    session.commit()
    page.goto(f"{served}/dashboard/login/{issued.token}")
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    page.click("text=住民からのメッセージ")
    expect(page.locator("#inbox tbody tr")).to_have_count(1)
    expect(page.locator("#inbox")).to_contain_text("未対応")
    page.goto(link)
    expect(page.locator("#thread-messages")).to_contain_text(BODY)
    page.fill("#answer-body", ANSWER)
    page.click("#answer-submit")
    expect(page.locator("#thread-messages")).to_contain_text(ANSWER)
    expect(page.locator("#thread-status")).to_have_text("対応中")
    page.select_option("#status-choice", "done")
    page.click("#status-submit")
    expect(page.locator("#thread-status")).to_have_text("完了")

    before = len(sim.inbox(user))
    clockwork.tick()
    clockwork.tick()
    got = [m["message"]["text"] for m in sim.inbox(user)[before:]]
    assert len(got) == 1 and ANSWER in got[0] and "桜町内会" in got[0]
    session.expire_all()
    thread = session.scalars(select(InboxThread)).one()
    assert thread.status is ThreadStatus.done
