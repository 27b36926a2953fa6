"""The target picker in a real headless Chromium on the sample areas (issue #20): the city's
admin finds 2 districts and 3 associations by typing kana, sees the count, and sends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import TOKYO
from broadcasts.delivery.worker import Worker
from broadcasts.rollout import area_file, areas
from models import (
    Association,
    Circular,
    CircularStatus,
    District,
    DistrictStatus,
    Role,
    StaffMember,
    StaffRole,
)
from simulator.testing import SimulatorClient
from tests.helpers.browser import log_in
from tests.helpers.clock import FakeClock
from tests.helpers.settings import SAMPLE_AREAS

pytestmark = pytest.mark.browser


def test_the_admin_picks_two_districts_and_three_associations_by_kana_and_sends(
    browser_page: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    worker: Worker,
    make_line_residents: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    areas.import_areas(session, area_file.parse(SAMPLE_AREAS.read_bytes()))
    for district in session.scalars(select(District)):
        district.status = DistrictStatus.active
    by_code = {d.code: d for d in session.scalars(select(District))}
    hirano, hamada = by_code["D01"], by_code["D10"]  # ひらのこうく, はまだこうく

    def first_of(district: District) -> Association:
        return session.scalars(
            select(Association)
            .where(Association.district_id == district.id)
            .order_by(Association.code)
        ).first() or pytest.fail("no association")

    picked = [first_of(by_code[code]) for code in ("D03", "D05", "D07")]
    reached = [
        *make_line_residents(2, first_of(hirano)),
        *make_line_residents(1, first_of(hamada)),
        *make_line_residents(1, picked[0]),
        *make_line_residents(2, picked[1]),
        *make_line_residents(3, picked[2]),
    ]
    elsewhere = make_line_residents(2, first_of(by_code["D20"]))
    session.commit()  # before the follow: its webhook writes too
    user = sim.create_user("市役所 太郎")
    sim.follow(user)
    admin = StaffMember(line_user_id=user, display_name="市役所 太郎")
    admin.roles.append(StaffRole(role=Role.admin))
    session.add(admin)
    session.commit()
    # Daytime in Tokyo, whenever the test runs: 「送信」 sends at once.
    monkeypatch.setattr(
        "linebot_app.dashboard.circulars.clock",
        FakeClock(datetime(2026, 12, 2, 10, 0, tzinfo=TOKYO)),
    )
    log_in(page, served, sim, user)

    response = page.goto(f"{served}/dashboard/compose")
    assert response is not None and len(response.body()) < 150_000
    page.fill("#title", "防災訓練のお知らせ")
    page.fill("#body", "10月の第2日曜日、朝9時に公園に集合してください。")
    # The submit button is within one screen of the question.
    question = page.locator("#question").bounding_box()
    submit = page.locator("form.compose button.primary").bounding_box()
    assert question is not None and submit is not None
    screen = page.viewport_size
    assert screen is not None
    assert submit["y"] + submit["height"] - question["y"] <= screen["height"]

    results = page.locator("#picker-results")
    chips = page.locator("#picker-chips")
    search = page.locator("#picker_q")

    def pick(kana: str, kind: str, area_id: int) -> None:
        search.fill("")
        search.press_sequentially(kana, delay=20)
        box = results.locator(f'input[name="{kind}"][value="{area_id}"]')
        expect(box).to_be_visible()
        box.check()
        expect(chips.locator(f'input[name="{kind}"][value="{area_id}"]')).to_be_checked()

    pick("ひらの", "districts", hirano.id)
    pick("はまだ", "districts", hamada.id)
    for association in picked:
        pick(association.kana, "associations", association.id)
    expect(page.locator("#live-areas")).to_have_text("5")
    expect(page.locator("#live-total")).to_have_text(str(len(reached)))
    expect(page.locator("#live-messages")).to_have_text(str(len(reached)))
    expect(page.locator("#picker-count")).to_have_attribute("aria-live", "polite")

    # A chip is removed by unticking it, and put back from the results.
    chip = chips.locator(f'input[name="associations"][value="{picked[2].id}"]')
    chip.uncheck()
    expect(chip).to_have_count(0)
    expect(page.locator("#live-total")).to_have_text(str(len(reached) - 3))
    pick(picked[2].kana, "associations", picked[2].id)
    expect(page.locator("#live-total")).to_have_text(str(len(reached)))

    page.click("form.compose button.primary")  # 保存してプレビュー
    page.wait_for_url(f"{served}/dashboard/compose/*/preview")
    page.click("#send")
    page.wait_for_url(f"{served}/dashboard/circulars/*")
    expect(page.locator(".flash.info")).to_contain_text(f"{len(reached)}人")
    worker.drain()
    session.expire_all()
    circular = session.scalars(select(Circular)).one()
    assert circular.status in (CircularStatus.sending, CircularStatus.sent)
    counts = sim.inbox_counts()
    assert [counts.get(u, 0) for u in reached] == [1] * len(reached)
    assert [counts.get(u, 0) for u in elsewhere] == [0, 0]
