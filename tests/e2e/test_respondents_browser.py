"""「回答者一覧」 in a real headless Chromium (issue #20 item 5): residents answer a headcount in
LINE — a button and a typed number — and their association's officer opens the list from the
circular's page, with each person's 班 and the people per 班, and saves the CSV."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft
from broadcasts.core.clock import SystemClock
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.staff import logins
from linebot_app.extensions import line
from models import Association, District, QuestionKind, Resident, Role, StaffMember
from simulator.testing import SimulatorClient

OUTPUT = Path(__file__).resolve().parents[1] / "_output"
SCREENSHOT = OUTPUT / "dashboard-respondents.png"

pytestmark = pytest.mark.browser


def test_an_officer_opens_who_answered_what(
    browser_page: Any,
    served: str,
    sim: SimulatorClient,
    session: Session,
    worker: Worker,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
) -> None:
    from playwright.sync_api import expect

    east = make_association(district=make_district(), name="東町内会", groups=("1班", "2班"))
    one, two = east.groups
    users = make_line_residents(2, east, one) + make_line_residents(1, east, two)
    for n, user in enumerate(users):
        session.execute(
            update(Resident).where(Resident.line_user_id == user).values(display_name=f"住民{n}")
        )
    officer = make_staff(Role.officer, association_id=east.id)
    clock = SystemClock()
    circular = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title="もちつき大会",
            body="12月20日 10時、公民館で。",
            targets=Target.of(associations=[east.id]),
            question="何人で来ますか？",
            question_kind=QuestionKind.headcount,
        ),
    )
    session.commit()
    assert release(session, clock, circular, remaining_quota(line())).released
    session.commit()
    worker.drain()

    # 住民0 taps 「回答する」 and 「3人」; 住民2 types 12 after 「10人以上」.
    sim.postback(users[0], f"say:{circular.id}", display_text="回答する")
    sim.postback(users[0], f"cnt:{circular.id}:3", display_text="3人")
    assert sim.inbox(users[0])[-1]["message"]["text"].startswith("3人で受け付けました")
    sim.postback(users[2], f"say:{circular.id}", display_text="回答する")
    sim.postback(users[2], f"num:{circular.id}", display_text="10人以上")
    sim.text(users[2], "12")
    assert sim.inbox(users[2])[-1]["message"]["text"].startswith("12人で受け付けました")

    page = browser_page
    issued = logins.issue(session, clock, officer)
    session.commit()
    page.goto(f"{served}/dashboard/login/{issued.token}")
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    page.goto(f"{served}/dashboard/circulars/{circular.id}")
    expect(page.locator("#people")).to_contain_text("15")
    page.click("#respondents-link")
    page.wait_for_url(f"{served}/dashboard/circulars/{circular.id}/respondents")
    rows = page.locator("#respondents tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("住民0")
    expect(rows.nth(0)).to_contain_text("1班")
    expect(rows.nth(0)).to_contain_text("3人")
    expect(rows.nth(1)).to_contain_text("住民2")
    expect(rows.nth(1)).to_contain_text("12人")
    expect(page.locator("#people-total")).to_have_text("15")
    with page.expect_download() as download:
        page.click("#export-respondents")
    saved = Path(download.value.path()).read_bytes()
    assert saved.startswith("\ufeff".encode()) and "住民2".encode() in saved
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
