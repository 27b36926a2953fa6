"""安否確認 in a real headless Chromium: a promoter starts a check for their district at night, a
resident answers 「助けが必要」 in LINE and the open board shows it without a reload; the
association's officer sees who it is, first and highlighted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.delivery.worker import Worker
from broadcasts.staff import logins
from models import Association, Circular, District, Resident, Role, StaffMember
from simulator.testing import SimulatorClient
from tests.helpers.browser import chromium

OUTPUT = Path(__file__).resolve().parents[1] / "_output"
SCREENSHOT = OUTPUT / "dashboard-safety.png"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(served: str, session: Session, worker: Worker) -> Iterator[object]:
    """Opened after (and closed before) the server and database fixtures, as in
    `browser_page` in tests/e2e/conftest.py."""
    with chromium() as running:
        yield running


def test_a_promoter_starts_a_check_and_the_board_follows_the_answers_live(
    browser: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    worker: Worker,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
) -> None:
    from playwright.sync_api import Browser, Page, expect

    assert isinstance(browser, Browser)
    district = make_district(name="平野校区")
    east = make_association(district=district, name="東町内会", groups=("1班", "2班"))
    west = make_association(district=district, name="西自治会")
    users = make_line_residents(6, east, east.groups[0]) + make_line_residents(
        4, east, east.groups[1]
    )
    make_line_residents(5, west)
    for n, user in enumerate(users):
        session.execute(
            update(Resident).where(Resident.line_user_id == user).values(display_name=f"住民{n}")
        )
    promoter = make_staff(Role.promoter, district_id=district.id)
    officer = make_staff(Role.officer, association_id=east.id)
    session.commit()

    def logged_in(member: StaffMember) -> Page:
        page = browser.new_context(
            viewport={"width": 430, "height": 900}, locale="ja-JP"
        ).new_page()
        page.set_default_timeout(15_000)
        issued = logins.issue(session, SystemClock(), member)
        session.commit()
        page.goto(f"{served}/dashboard/login/{issued.token}")
        page.click("#login")
        page.wait_for_url(f"{served}/dashboard/")
        return page

    page = logged_in(promoter)
    page.click("text=安否確認")
    page.select_option("#area", f"d:{district.id}")
    page.click("#safety-start button[type=submit]")
    page.wait_for_url(f"{served}/dashboard/safety/*")
    session.expire_all()
    check = session.scalars(select(Circular).where(Circular.safety_check.is_(True))).one()
    session.commit()  # no read transaction of the test's stays open while the app writes
    worker.drain()
    expect(page.locator('[data-stat="waiting"]')).to_have_text("15")
    expect(page.locator(".names")).to_have_count(0)

    # 住民1 answers in LINE: the open page shows it on its next refresh, no reload.
    sim.postback(users[1], f"ans:{check.id}:2", display_text="助けが必要")
    reply = sim.inbox(users[1])[-1]["message"]["text"]
    assert reply.startswith("「助けが必要」で受け付けました") and "119番" in reply
    sim.postback(users[7], f"ans:{check.id}:1", display_text="無事です")
    # The board polls every 5 s: wait past a refresh or two even on a loaded machine.
    expect(page.locator('[data-stat="help"]')).to_have_text("1", timeout=20_000)
    expect(page.locator('[data-stat="safe"]')).to_have_text("1")
    expect(page.locator('[data-stat="waiting"]')).to_have_text("13")
    first_row = page.locator("#safety-groups tbody tr").first
    expect(first_row).to_have_class("help")
    expect(first_row.locator('[data-count="help"]')).to_have_text("1")

    officer_page = logged_in(officer)
    officer_page.goto(f"{served}/dashboard/safety/{check.id}")
    expect(officer_page.locator("#needing-help")).to_contain_text("住民1")
    expect(officer_page.locator("#needing-help")).to_contain_text("1班")
    names = officer_page.locator("#safety-groups .names").first.locator("li")
    expect(names.first).to_have_attribute("data-answer", "help")
    expect(names.first).to_contain_text("住民1")
    expect(officer_page.locator("#safety-groups tbody tr[data-association]")).to_have_count(2)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    officer_page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
