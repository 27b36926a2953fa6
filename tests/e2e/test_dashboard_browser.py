"""The dashboard in a real headless Chromium: a staff member asks the bot for a login link in
the simulated LINE chat, opens it, reads a circular's statistics, downloads the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.worker import Worker
from models import (
    Acknowledgement,
    Association,
    Channel,
    Circular,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    Open,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from simulator.testing import SimulatorClient
from tests.helpers.browser import log_in
from tests.helpers.clock import FakeClock
from tests.helpers.settings import TEST_SETTINGS

OUTPUT = Path(__file__).resolve().parents[1] / "_output"
SCREENSHOT = OUTPUT / "dashboard-stats.png"

pytestmark = pytest.mark.browser


def test_officer_logs_in_from_line_and_reads_a_circulars_statistics(
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

    # An officer whose LINE account follows the bot.
    association = make_association(name="楓西町内会", groups=("1班", "2班"))
    # Committed before the follow: the bot writes too, and SQLite has one writer at a time.
    session.commit()
    officer_user = sim.create_user("役員 太郎")
    sim.follow(officer_user)
    officer = StaffMember(line_user_id=officer_user, display_name="役員 太郎")
    officer.roles.append(StaffRole(role=Role.officer, association_id=association.id))
    session.add(officer)

    # A circular to 30 residents in two groups, delivered through the simulator.
    make_line_residents(18, association, association.groups[0])
    make_line_residents(12, association, association.groups[1])
    circular = make_circular(author=officer, title="防災訓練のお知らせ")
    circular.targets.append(CircularTarget(association_id=association.id))
    session.flush()
    assert release(session, clock, circular, None).released
    session.commit()
    worker.drain()
    residents = list(
        session.scalars(
            select(Resident.id)
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.circular_id == circular.id)
            .order_by(Resident.id)
        )
    )
    for resident_id in residents[:20]:
        session.add(Open(circular_id=circular.id, resident_id=resident_id, opened_at=clock.now()))
    for i, resident_id in enumerate(residents[:12]):
        clock.advance(minutes=20)
        session.add(
            Acknowledgement(
                circular_id=circular.id,
                resident_id=resident_id,
                confirmed_at=clock.now(),
                channel=Channel.line if i % 2 else Channel.web,
            )
        )
    session.commit()

    # 「ログイン」 in the chat; the bot answers with a button holding the link.
    sim.text(officer_user, "ログイン")
    reply = sim.inbox(officer_user)[-1]["message"]
    assert reply["type"] == "flex"
    link = reply["contents"]["footer"]["contents"][0]["action"]["uri"]
    public = TEST_SETTINGS["KAIRAN_PUBLIC_URL"]
    assert link.startswith(f"{public}/dashboard/login/")
    page.goto(link.replace(public, served))
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    expect(page.locator(".card h2", has_text="防災訓練のお知らせ")).to_be_visible()

    page.click("text=防災訓練のお知らせ")
    page.wait_for_url(f"{served}/dashboard/circulars/{circular.id}")

    def db_count(model: type[Open] | type[Acknowledgement] | type[Delivery], *where: object) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.circular_id == circular.id, *where)  # type: ignore[arg-type]
            )
            or 0
        )

    delivered = db_count(Delivery, Delivery.status == DeliveryStatus.sent)
    opened = db_count(Open)
    confirmed = db_count(Acknowledgement)
    assert (delivered, opened, confirmed) == (30, 20, 12)
    expect(page.locator('[data-stat="delivered"]')).to_have_text(str(delivered))
    expect(page.locator('[data-stat="opened"]')).to_have_text(str(opened))
    expect(page.locator('[data-stat="confirmed"]')).to_have_text(str(confirmed))
    expect(page.locator('[data-rate="confirmed"]')).to_have_text("40.0%")
    expect(page.locator("#breakdown tr.level-group")).to_have_count(2)
    expect(page.locator("svg.chart polyline")).to_have_count(1)

    with page.expect_download() as download_info:
        page.click("#export-stats")
    download = download_info.value
    OUTPUT.mkdir(parents=True, exist_ok=True)
    saved = OUTPUT / "dashboard-stats.csv"
    download.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    total = rows[1]
    assert total[0] == "合計"
    assert [int(total[5]), int(total[6]), int(total[7])] == [delivered, opened, confirmed]

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    # Who has not confirmed: the officer's own association, by name and group.
    page.click("text=まだ確認していない人")
    expect(page.locator("#not-confirmed tbody tr")).to_have_count(delivered - confirmed)


def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(
    browser_page: object,
    served: str,
    sim: SimulatorClient,
    session: Session,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    """Issue #18, items 14 and 19: a copied cookie reads nothing after logout, and the
    dashboard's security policy blocks nothing of its own."""
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    association = make_association(name="楓東町内会")
    session.commit()
    officer_user = sim.create_user("役員 花子")
    sim.follow(officer_user)
    officer = StaffMember(line_user_id=officer_user, display_name="役員 花子")
    officer.roles.append(StaffRole(role=Role.officer, association_id=association.id))
    circular = make_circular(author=officer, title="ごみ当番のお知らせ")
    circular.targets.append(CircularTarget(association_id=association.id))
    resident = make_resident(association=association, display_name="見守り 次郎")
    session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
    session.commit()
    names = f"{served}/dashboard/circulars/{circular.id}/not-confirmed"

    log_in(page, served, sim, officer_user)
    page.wait_for_url(f"{served}/dashboard/")
    expect(page.locator(".card h2", has_text="ごみ当番のお知らせ")).to_be_visible()
    page.goto(f"{served}/dashboard/circulars/{circular.id}")
    expect(page.locator('[data-stat="delivered"]')).to_have_text("1")
    page.goto(names)
    expect(page.locator("#not-confirmed")).to_contain_text("見守り 次郎")
    # The officer's other pages, for the security policy's sake.
    for path in ("associations", "adoption", "templates", "groups", "safety", "compose"):
        response = page.goto(f"{served}/dashboard/{path}")
        assert response is not None and response.status == 200, path

    # Someone else's browser with a copy of the cookie reads the same page…
    assert page.context.browser is not None
    other = page.context.browser.new_context()
    other.add_cookies(page.context.cookies())
    copy = other.new_page()
    copy.goto(names)
    expect(copy.locator("#not-confirmed")).to_contain_text("見守り 次郎")

    # …until the officer logs out.
    page.click("text=ログアウト")
    page.wait_for_url(f"{served}/dashboard/login")
    copy.goto(names)
    assert copy.url == f"{served}/dashboard/login"
    expect(copy.locator("body")).not_to_contain_text("見守り 次郎")
    other.close()
    assert blocked == []
