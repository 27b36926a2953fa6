"""Interest groups in a real headless Chromium (issue #23): an officer creates one from the
associations page, sees its code, a resident joins with that code in LINE, and the count shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Association, InterestGroup, Role, StaffMember, StaffRole
from simulator.testing import SimulatorClient
from tests.helpers.browser import log_in
from tests.helpers.conversation import last

pytestmark = pytest.mark.browser


def test_an_officer_creates_a_group_sees_its_code_and_a_resident_joins_with_it(
    browser_page: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    association = make_association(name="桜町内会")
    (resident,) = make_line_residents(1, association)
    session.commit()  # before the follow: its webhook writes too
    user = sim.create_user("役員 花子")
    sim.follow(user)
    officer = StaffMember(line_user_id=user, display_name="役員 花子")
    officer.roles.append(StaffRole(role=Role.officer, association_id=association.id))
    session.add(officer)
    session.commit()
    log_in(page, served, sim, user)

    page.goto(f"{served}/dashboard/associations")
    page.get_by_role("link", name="グループ", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("桜町内会")
    expect(page.locator("#interest-groups")).to_contain_text("役員会")
    page.get_by_label("グループ名").fill("子ども会")
    page.get_by_label("回覧を送れる人").select_option("creator")
    page.get_by_role("button", name="作る").click()
    expect(page.locator("body")).to_contain_text("グループを作りました。")
    row = page.locator("#interest-groups tr", has_text="子ども会")
    code = row.locator("td.code").inner_text().strip()
    group = session.scalars(select(InterestGroup)).one()
    assert code == f"NAKAMA-{group.join_code[:4]}-{group.join_code[4:]}"
    row.get_by_role("link", name="変更").click()
    expect(page.locator("#interest-code")).to_have_text(code)

    sim.text(resident, code)
    assert "「子ども会」に入りました" in last(sim, resident)["text"]
    page.goto(f"{served}/dashboard/associations/{association.id}/interest-groups")
    expect(
        page.locator("#interest-groups tr", has_text="子ども会").locator("td.number")
    ).to_have_text("1")
