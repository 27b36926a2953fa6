"""The association's LINE group in a real headless Chromium (issue #23, item 3): an officer gets a
link code on a phone, a member types it in the simulated group, the page lists the group with
its members, and 「退出」 makes the bot leave it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.staff import logins
from models import Association, Role, StaffMember
from simulator.testing import SimulatorClient

pytestmark = pytest.mark.browser


def test_an_officer_links_the_group_and_makes_the_bot_leave(
    browser_page: object,
    served: str,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    association = make_association(name="楓東町内会")
    officer = make_staff(Role.officer, association_id=association.id)
    token = logins.issue(session, SystemClock(), officer).token
    session.commit()
    members = sim.create_users(3, "会員")
    group_id = sim.create_group("楓東 連絡", members)
    sim.group_act(group_id, "invite-bot")

    page.goto(f"{served}/dashboard/login/{token}")
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    page.goto(f"{served}/dashboard/associations/{association.id}/groups")
    page.click("text=LINEグループ")
    expect(page.locator("#line-groups")).to_have_count(0)
    page.click("text=連携コードを出す")
    code = page.locator("#link-code").inner_text()
    assert code.startswith("RENKEI-")

    sim.group_act(group_id, "text", user_id=members[0], text=code)
    page.goto(f"{served}/dashboard/associations/{association.id}/line-groups")
    row = page.locator("#line-groups tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td.num")).to_have_text("3")

    row.locator("button", has_text="退出").click()
    expect(page.locator(".flash", has_text="LINEグループから退出しました。")).to_have_count(1)
    expect(page.locator("#line-groups")).to_have_count(0)
    assert sim.group(group_id)["botMember"] is False
