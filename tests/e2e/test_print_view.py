"""The print view in a real headless Chromium: printed to an A4 PDF whose text holds the
circular's title (Japanese font: fonts-noto-cjk), its QR code and the paper-run table."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft
from broadcasts.core.clock import SystemClock
from broadcasts.residents import links
from broadcasts.staff import logins
from models import Association, Circular, CircularStatus, CircularTarget, Role, StaffMember
from tests.helpers.browser import chromium as launch_chromium
from tests.helpers.clock import FakeClock
from tests.helpers.servers import serving
from tests.helpers.settings import TEST_SETTINGS

OUTPUT = Path(__file__).resolve().parents[1] / "_output"

pytestmark = pytest.mark.browser


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def chromium() -> Iterator[object]:
    with launch_chromium() as browser:
        yield browser


def test_the_print_view_prints_to_an_a4_pdf_with_the_title(
    app: Flask,
    session: Session,
    clock: FakeClock,
    served: str,
    chromium: object,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    from playwright.sync_api import Browser
    from pypdf import PdfReader

    assert isinstance(chromium, Browser)
    association = make_association(name="桜町内会", paper_household_count=12, groups=("1班",))
    promoter = make_staff(Role.promoter, district_id=association.district_id)
    circular = drafts.save_draft(
        session,
        clock,
        promoter,
        CircularDraft(
            title="秋の防災訓練のお知らせ",
            body="11月の第2日曜日、9時から第一公園で防災訓練を行います。\n\n雨天中止。",
            targets=Target.of(associations=[association.id]),
        ),
    )
    circular.status = CircularStatus.sent
    session.commit()

    page = chromium.new_page()
    token = links.print_token(TEST_SETTINGS["SECRET_KEY"], circular.id)
    response = page.goto(f"{served}/print/link/{token}")
    assert response is not None and response.status == 200
    assert page.locator(".qr-code svg").count() == 1
    pdf = page.pdf(format="A4", print_background=True)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "print-view.pdf").write_bytes(pdf)

    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "秋の防災訓練のお知らせ" in text
    assert "紙で配る部数" in text and "12" in text
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    # A4 is 595 × 842 points; Chromium rounds its page size to whole pixels.
    assert abs(float(width) - 595) < 2 and abs(float(height) - 842) < 2


def test_a_sent_circulars_page_links_to_its_print_view(
    session: Session,
    served: str,
    chromium: object,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> None:
    """Not only the draft's preview: a promoter printing copies for paper households after
    sending finds the print view from the circular's page."""
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    association = make_association(name="楓東町内会", paper_household_count=7)
    promoter = make_staff(Role.promoter, district_id=association.district_id)
    circular = make_circular(
        author=promoter,
        title="資源回収のお知らせ",
        status=CircularStatus.sent,
        released_at=SystemClock().now(),
    )
    circular.targets.append(CircularTarget(association_id=association.id))
    issued = logins.issue(session, SystemClock(), promoter)
    session.commit()

    page = chromium.new_page(viewport={"width": 430, "height": 900}, locale="ja-JP")
    page.set_default_timeout(10_000)
    page.goto(f"{served}/dashboard/login/{issued.token}")
    page.click("#login")
    page.wait_for_url(f"{served}/dashboard/")
    page.goto(f"{served}/dashboard/circulars/{circular.id}")
    page.get_by_role("link", name="印刷用の画面").click()
    page.wait_for_url(f"{served}/print/{circular.id}")
    expect(page.locator("h1")).to_contain_text("資源回収のお知らせ")
    expect(page.locator(".qr-code svg")).to_have_count(1)
