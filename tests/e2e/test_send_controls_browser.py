"""Sending controls in a real headless Chromium (issue #18): 「8:00 に送る」 in quiet hours, and
「再開」 for a reminder paused by LINE's monthly limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.worker import Worker
from broadcasts.schedule import reminders
from models import (
    Association,
    Circular,
    CircularStatus,
    CircularTarget,
    Role,
    StaffMember,
    StaffRole,
)
from simulator.testing import SimulatorClient
from tests.helpers.browser import log_in
from tests.helpers.clock import FakeClock

pytestmark = pytest.mark.browser


def promoter(session: Session, sim: SimulatorClient, association: Association) -> StaffMember:
    user = sim.create_user("推進員 花子")
    sim.follow(user)
    member = StaffMember(line_user_id=user, display_name="推進員 花子")
    member.roles.append(StaffRole(role=Role.promoter, district_id=association.district_id))
    session.add(member)
    session.commit()
    return member


def test_in_quiet_hours_the_preview_sends_at_eight_unless_told_now(
    browser_page: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    worker: Worker,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    association = make_association(name="桜町内会")
    residents = make_line_residents(3, association)
    session.commit()
    member = promoter(session, sim, association)
    night = FakeClock(datetime(2026, 12, 1, 23, 30, tzinfo=TOKYO))
    monkeypatch.setattr("linebot_app.dashboard.circulars.clock", night)
    circular = drafts.save_draft(
        session,
        night,
        member,
        CircularDraft(
            title="ごみ出しの変更",
            body="来週から火曜日です。",
            targets=Target.of(associations=[association.id]),
        ),
    )
    session.commit()
    log_in(page, served, sim, member.line_user_id)

    page.goto(f"{served}/dashboard/compose/{circular.id}/preview")
    expect(page.locator("#quiet-notice")).to_contain_text("住民に送らない時間帯")
    expect(page.locator("#send")).to_have_count(0)
    expect(page.locator("#send-later")).to_have_text("8:00 に送る")
    expect(page.locator("#send-now")).to_have_text("今すぐ送る")
    page.click("#send-later")
    page.wait_for_url(f"{served}/dashboard/")
    expect(page.locator(".flash")).to_contain_text("2026-12-02 08:00")
    session.expire_all()
    assert session.get_one(Circular, circular.id).status is CircularStatus.scheduled
    assert worker.drain() == 0
    counts = sim.inbox_counts()
    assert [counts.get(user, 0) for user in residents] == [0, 0, 0]


def test_a_reminder_paused_by_the_monthly_limit_resumes_from_the_button(
    browser_page: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    clock: FakeClock,
    worker: Worker,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    association = make_association(name="楓町内会")
    residents = make_line_residents(4, association)
    session.commit()
    member = promoter(session, sim, association)
    circular = make_circular(author=member, targets=[CircularTarget(association_id=association.id)])
    assert release(session, clock, circular, None).released
    session.commit()
    worker.drain()
    reminders.release_reminder(
        session, clock, reminders.DueReminder(circular.id, "reminder-1", clock.now())
    )
    session.commit()
    sim.set_quota(limit=sim.quota()["used"] + 1)  # LINE's quota used up elsewhere meanwhile
    worker.drain()
    session.expire_all()
    assert session.get_one(Circular, circular.id).status is CircularStatus.sent
    log_in(page, served, sim, member.line_user_id)

    page.goto(f"{served}/dashboard/circulars/{circular.id}")
    expect(page.locator(".flash.error")).to_contain_text("今月のメッセージ上限")
    page.click("#resume")
    expect(page.locator(".flash.error").first).to_contain_text("必要 4 通、残り 1 通")
    sim.set_quota(limit=1000)
    page.click("#resume")
    expect(page.locator(".flash.info")).to_contain_text("送信を再開しました")
    expect(page.locator("#resume")).to_have_count(0)
    worker.drain()
    counts = sim.inbox_counts()
    assert [counts.get(user, 0) for user in residents] == [2, 2, 2, 2]


def test_the_english_previews_counts_stay_inside_their_tiles(
    browser_page: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    """A six-figure monthly allowance and its English unit ("199999 messages") on one line ran
    out of the tile on a desktop screen: the number and its unit may wrap apart."""
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    page.set_viewport_size({"width": 1280, "height": 900})
    sim.set_quota(200_000)
    association = make_association(name="桜町内会")
    make_line_residents(1, association)
    session.commit()
    member = promoter(session, sim, association)
    circular = drafts.save_draft(
        session,
        clock,
        member,
        CircularDraft(
            title="ごみ出しの変更",
            body="来週から火曜日です。",
            targets=Target.of(associations=[association.id]),
        ),
    )
    session.commit()
    log_in(page, served, sim, member.line_user_id)

    preview = f"/dashboard/compose/{circular.id}/preview"
    page.goto(f"{served}/dashboard/language/en?next={preview}")
    expect(page.locator("#quota-after")).to_have_text("199999")
    overflowing = page.eval_on_selector_all(
        "#cost .tile",
        "tiles => tiles.filter(t => t.scrollWidth > t.clientWidth).map(t => t.innerText)",
    )
    assert overflowing == []
