"""Reading for everyone, in a real browser and a real LINE conversation: the furigana toggle,
the versions of the text, axe-core's accessibility check in every mode, and a resident who
chooses やさしい日本語 for the bot's own words."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft
from broadcasts.residents import links
from models import (
    EASY_JAPANESE,
    Association,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.browser import chromium as launch_chromium
from tests.helpers.clock import FakeClock
from tests.helpers.servers import serving
from tests.helpers.settings import TEST_SETTINGS

SECRET = TEST_SETTINGS["SECRET_KEY"]
BODY = "明日の午前9時から公民館で防災訓練を行います。\n食べ物を持ってきてください。<b>太字</b>"


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def page_url(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    served: str,
) -> str:
    """A resident's own link to a sent circular with an English and an easy Japanese version."""
    sakura = make_association(name="桜町内会")
    officer = make_staff(Role.officer, association_id=sakura.id)
    circular: Circular = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title="防災訓練のお知らせ",
            body=BODY,
            targets=Target.of(associations=[sakura.id]),
            question="参加しますか",
            options=["はい", "いいえ"],
            translations=[
                Version("en", "Disaster drill", "Meet at the community hall at 9:00."),
                Version(EASY_JAPANESE, "", "あしたの 9時に 公民館に 来て ください。"),
            ],
        ),
    )
    circular.status = CircularStatus.sent
    resident = make_resident(association=sakura)
    session.add(
        Delivery(circular_id=circular.id, resident_id=resident.id, status=DeliveryStatus.sent)
    )
    session.commit()
    return f"{served}/c/{links.detail_token(SECRET, circular.id, resident.id)}"


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with launch_chromium() as browser:
        # axe-core is injected as a script, which the page's CSP (no scripts at all) would stop;
        # the check is about the page's HTML and CSS, so the test context bypasses CSP.
        context = browser.new_context(bypass_csp=True, locale="ja-JP")
        yield context.new_page()
        context.close()


def no_axe_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    # axe really looked: the colour-contrast and language rules ran and passed on this page.
    passed = {rule["id"] for rule in results.response["passes"]}
    assert {"color-contrast", "html-has-lang", "valid-lang"} <= passed
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.browser
def test_the_furigana_toggle_puts_ruby_on_kanji_and_every_mode_passes_axe(
    page_url: str, browser_page: Any
) -> None:
    # page_url first: the browser (and its event loop) must close before the app context.
    page = browser_page
    page.goto(page_url)
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("ruby").count() == 0
    # Large type by default: the body text is at least 20 CSS pixels.
    size = page.locator(".body p").first.evaluate("p => parseFloat(getComputedStyle(p).fontSize)")
    assert size >= 20
    no_axe_violations(page)

    page.get_by_role("link", name="ふりがなをつける").click()
    page.wait_for_url("**furigana=1**")
    # Each <ruby> holds its base text, then its <rt> (no obsolete <rb>).
    pairs = [
        tuple(pair)
        for pair in page.locator("ruby").evaluate_all(
            "rs => rs.map(r => [r.firstChild.textContent, r.querySelector('rt').textContent])"
        )
    ]
    bases = [base for base, _reading in pairs]
    assert ("公民館", "こうみんかん") in pairs
    assert ("食", "た") in pairs
    # Kanji only: no kana, digits or latin letters under a reading.
    assert all(all("\u3400" <= c <= "\u9fff" or c in "々〆ヵヶ" for c in b) for b in bases)
    # The author's markup stays text, with ruby on its kanji.
    assert "<b>" in page.locator(".body").inner_text()
    assert page.locator(".body b").count() == 0
    assert "太字" in bases
    no_axe_violations(page)

    page.get_by_role("link", name="やさしい日本語").click()
    page.wait_for_url("**lang=ja-x-easy**")
    assert "あしたの" in page.locator(".body").inner_text()
    assert page.locator("ruby").count() > 0, "furigana stays on while switching"
    assert page.get_by_role("link", name="やさしい日本語").get_attribute("aria-current") == "page"
    no_axe_violations(page)

    page.get_by_role("link", name="ふりがなを けす").click()
    assert page.locator("ruby").count() == 0
    no_axe_violations(page)

    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en**")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Disaster drill"
    assert page.get_by_role("link", name="ふりがなをつける").count() == 0
    no_axe_violations(page)


# --- the bot's language --------------------------------------------------------------------------


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A flex bubble's footer buttons: label → postback data."""
    footer = message["contents"]["footer"]["contents"]
    return {b["action"]["label"]: b["action"]["data"] for b in footer if "data" in b["action"]}


def texts(sim: SimulatorClient, user: str) -> list[str]:
    return [m["message"].get("text", "") for m in sim.inbox(user)]


@pytest.mark.usefixtures("bot")
def test_a_resident_who_picks_easy_japanese_gets_the_bots_replies_in_it(
    sim: SimulatorClient, session: Session
) -> None:
    user = sim.create_user("山田", language="ja")
    sim.follow(user)
    sim.text(user, "設定")
    chooser = next(m["message"] for m in sim.inbox(user) if m["message"]["type"] == "flex")
    assert set(buttons(chooser)) == {"日本語", "やさしい日本語", "English"}
    sim.postback(user, buttons(chooser)["やさしい日本語"], display_text="やさしい日本語")
    assert texts(sim, user)[-1] == "これから、この ことばで おしらせします。"
    session.expire_all()
    resident = session.scalars(select(Resident).where(Resident.line_user_id == user)).one()
    assert resident.locale == EASY_JAPANESE

    sim.text(user, "ヘルプ")
    assert texts(sim, user)[-1].startswith("回覧板（かいらんばん）の LINEです。")
    # Following again with a Japanese LINE keeps the chosen やさしい日本語.
    sim.block(user)
    sim.unblock(user)
    session.expire_all()
    assert session.get(Resident, resident.id).locale == EASY_JAPANESE  # type: ignore[union-attr]

    sim.postback(user, "lang:en", display_text="English")
    assert texts(sim, user)[-1] == "From now on, messages will be in this language."
    sim.text(user, "help")
    assert texts(sim, user)[-1].startswith("This is")
    # English chosen on a Japanese phone stays English when the resident follows again.
    sim.block(user)
    sim.unblock(user)
    session.expire_all()
    assert session.get(Resident, resident.id).locale == "en"  # type: ignore[union-attr]
