"""The rollout pages in a real headless Chromium: a promoter starts a circular from a template
and reads the adoption curve."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.composing import templates
from broadcasts.core.clock import SystemClock
from broadcasts.staff import logins
from linebot_app.dashboard.links import login_url
from models import Association, Circular, District, Resident, Role, StaffMember
from tests.helpers.settings import TEST_SETTINGS

pytestmark = pytest.mark.browser


def test_a_promoter_starts_a_circular_from_a_template_and_reads_the_adoption_curve(
    browser_page: object,
    served: str,
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    district = make_district(name="緑ヶ丘校区")
    association = make_association(district=district, name="緑ヶ丘一丁目自治会")
    make_resident(association=association, registered_at=datetime(2026, 11, 1, tzinfo=UTC))
    promoter = make_staff(Role.promoter, district=district)
    templates.load_starter_set(session)
    issued = logins.issue(session, SystemClock(), promoter)
    session.commit()

    public = TEST_SETTINGS["KAIRAN_PUBLIC_URL"]
    page.goto(login_url(public, issued.token).replace(public, served))
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")

    page.click("nav >> text=ひな形")
    row = page.locator("#templates tr", has_text="防災訓練のお知らせ")
    row.locator("text=このひな形で作る").click()
    expect(page.locator("#title")).to_have_value("防災訓練のお知らせ")
    expect(page.locator("#option_3")).to_have_value("まだわからない")
    page.check(f'input[name="associations"][value="{association.id}"]')
    page.click("text=保存してプレビュー")
    page.wait_for_url(f"{served}/dashboard/compose/*/preview")
    session.expire_all()
    circular = session.scalars(select(Circular)).one()
    assert circular.title == "防災訓練のお知らせ"
    assert [o.label for o in circular.options] == ["参加する", "参加しない", "まだわからない"]
    assert circular.answer_deadline is not None and circular.event_date is not None

    page.click("nav >> text=登録の推移")
    expect(page.locator("h3", has_text="緑ヶ丘校区")).to_contain_text("1 / 100")
    expect(page.locator("svg.chart polyline")).to_have_count(2)  # the total and the district


def test_the_first_join_code_is_made_without_talk_of_an_earlier_one(
    browser_page: object,
    served: str,
    session: Session,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    """Issue #18, item 6: 「コードを作る」 spoke of an earlier code that never was."""
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    association = make_association(name="桜町自治会")
    officer = make_staff(Role.officer, association=association)
    issued = logins.issue(session, SystemClock(), officer)
    session.commit()

    public = TEST_SETTINGS["KAIRAN_PUBLIC_URL"]
    page.goto(login_url(public, issued.token).replace(public, served))
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    page.goto(f"{served}/dashboard/associations/{association.id}/join")

    page.click("button:has-text('コードを作る')")
    flash = page.locator(".flash")
    expect(flash).to_have_text("参加コードを作りました。")
    page.click("button:has-text('コードを新しくする')")
    expect(flash).to_have_text("新しい参加コードにしました。前のコードはもう使えません。")
