"""A 班長 confirms for the paper households of their 班 on a phone, in a real headless Chromium,
and the circular's page shows the 班 covered to 100%."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.core.clock import SystemClock
from broadcasts.delivery.worker import Worker
from broadcasts.households import paper
from broadcasts.residents import acknowledgements
from broadcasts.staff import logins
from models import Association, Circular, CircularTarget, Resident, Role, StaffMember
from tests.helpers.clock import FakeClock

pytestmark = pytest.mark.browser


def test_a_group_leader_proxy_confirms_paper_households_to_full_coverage(
    browser_page: object,
    served: str,
    session: Session,
    clock: FakeClock,
    worker: Worker,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    association = make_association(name="楓東町内会", groups=("1班", "2班"))
    first = association.groups[0]
    user_ids = make_line_residents(3, association, first)
    paper.set_group(session, clock, first, 2, ["山田さん"])
    leader = make_staff(Role.group_leader, group_id=first.id)
    circular = make_circular(
        title="清掃のお知らせ", targets=[CircularTarget(association=association)]
    )
    assert release(session, clock, circular, None).released
    session.commit()
    worker.drain()
    for user_id in user_ids:
        resident = session.scalars(select(Resident).where(Resident.line_user_id == user_id)).one()
        acknowledgements.confirm(session, clock, resident, circular.id)
    token = logins.issue(session, SystemClock(), leader).token
    session.commit()

    page.goto(f"{served}/dashboard/login/{token}")
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    page.goto(f"{served}/dashboard/circulars/{circular.id}")
    coverage = page.locator(f'[data-coverage="{first.id}"]')
    expect(coverage).to_have_text("3 / 5 (60.0%)")

    page.click(f'#coverage tr[data-group="{first.id}"] >> text=代理確認')
    expect(page.locator("#paper-households tbody tr")).to_have_count(2)
    for _ in range(2):
        page.locator("#paper-households button", has_text="確認済みにする").first.click()
        page.wait_for_load_state()
    expect(page.locator("#paper-households button", has_text="確認済みにする")).to_have_count(0)
    expect(page.locator("#coverage [data-coverage]")).to_have_text("5 / 5")

    # Undo one, then confirm it again: the page follows each step.
    page.locator("#paper-households button", has_text="取り消す").first.click()
    expect(page.locator("#coverage [data-coverage]")).to_have_text("4 / 5")
    page.locator("#paper-households button", has_text="確認済みにする").click()
    expect(page.locator("#coverage [data-coverage]")).to_have_text("5 / 5")

    page.goto(f"{served}/dashboard/circulars/{circular.id}")
    expect(coverage).to_have_text("5 / 5 (100.0%)")


def test_a_group_leader_reaches_the_proxy_page_in_two_taps_from_the_menu(
    browser_page: object,
    served: str,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    association = make_association(name="楓西町内会", groups=("1班",))
    group = association.groups[0]
    make_line_residents(1, association, group)
    paper.set_group(session, clock, group, 3, [])
    leader = make_staff(Role.group_leader, group_id=group.id)
    for title in ("清掃のお知らせ", "防災訓練のお知らせ"):
        circular = make_circular(title=title, targets=[CircularTarget(association=association)])
        assert release(session, clock, circular, None).released
        clock.advance(minutes=5)
    token = logins.issue(session, SystemClock(), leader).token
    session.commit()

    page.goto(f"{served}/dashboard/login/{token}")
    page.click("#login")
    page.click("nav >> text=班と紙の世帯")
    newest = page.locator("ul.rounds li").first
    expect(newest).to_contain_text("防災訓練のお知らせ")
    expect(newest.locator("[data-confirmed]")).to_have_text("0 / 3")
    box = newest.locator("a").bounding_box()
    assert box is not None and box["height"] >= 44, "a finger-sized link"
    newest.locator("a").click()
    page.locator("#paper-households button", has_text="確認済みにする").first.click()
    page.wait_for_load_state()
    page.click("nav >> text=班と紙の世帯")
    expect(page.locator("ul.rounds li").first.locator("[data-confirmed]")).to_have_text("1 / 3")
