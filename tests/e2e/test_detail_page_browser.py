"""The detail page as residents reach it (issue #18, items 1, 3, 4): the card in the simulated
LINE chat, 「詳しく見る」, the link the bot answers with, opened in a real headless Chromium, the
real buttons pressed. The page sends `Referrer-Policy: no-referrer`, so Chromium posts its forms
with `Origin: null`, as the phones' browsers do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.worker import Worker
from linebot_app.config import Settings
from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    Channel,
    Circular,
    CircularTarget,
    Open,
)
from simulator.testing import SimulatorClient
from tests.helpers.browser import chromium
from tests.helpers.clock import FakeClock
from tests.helpers.servers import serving_line

pytestmark = pytest.mark.browser


@pytest.fixture
def served(app: Flask, sim: SimulatorClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app over HTTP, its public URL set to where it is served (so the bot's links open as
    they are), and the simulator's webhook pointed at it."""
    with serving_line(app, sim) as base:
        settings: Settings = app.config["KAIRAN_SETTINGS"]
        monkeypatch.setitem(
            app.config, "KAIRAN_SETTINGS", settings.model_copy(update={"KAIRAN_PUBLIC_URL": base})
        )
        yield base


@pytest.fixture
def browser_page(served: str, session: Session, worker: Worker) -> Iterator[Any]:
    """Opened after (and closed before) the server and the database: Playwright's sync API runs
    an event loop in this thread, and an app context must not close inside it."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()


@pytest.fixture
def send_card(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> Callable[..., tuple[str, Circular]]:
    """A circular delivered through the simulator to one new resident: (their LINE id, it)."""

    def send(**fields: Any) -> tuple[str, Circular]:
        association = make_association(name="楓西町内会")
        (user,) = make_line_residents(1, association)
        circular = make_circular(**fields)
        circular.targets.append(CircularTarget(association_id=association.id))
        session.flush()
        assert release(session, clock, circular, None).released
        session.commit()
        worker.drain()
        return user, circular

    return send


def card(sim: SimulatorClient, user: str) -> dict[str, Any]:
    cards = [m["message"] for m in sim.inbox(user) if m["message"]["type"] == "flex"]
    assert cards, "no card reached the resident"
    return cards[0]


def tap_card(sim: SimulatorClient, user: str, label: str) -> None:
    footer = card(sim, user)["contents"]["footer"]["contents"]
    (button,) = [b for b in footer if b["action"]["label"] == label]
    sim.postback(user, button["action"]["data"], display_text=label)


def detail_link(sim: SimulatorClient, user: str) -> str:
    """「詳しく見る」 on the card; the bot answers with the resident's own link to the page."""
    tap_card(sim, user, "詳しく見る")
    invitation, _text = (m["message"] for m in sim.inbox(user)[-2:])
    assert invitation["type"] == "flex"
    uri: str = invitation["contents"]["footer"]["contents"][0]["action"]["uri"]
    return uri


def acknowledgements(session: Session) -> list[Acknowledgement]:
    session.expire_all()
    return list(session.scalars(select(Acknowledgement)))


def test_the_confirm_button_works_as_a_phone_presses_it_and_forgeries_are_refused(
    browser_page: Any, served: str, sim: SimulatorClient, session: Session, send_card: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    user, circular = send_card(
        title="防災訓練のお知らせ", body="9時に集合。\n持ち物：タオル\n\n雨の日は中止。"
    )
    link = detail_link(sim, user)
    assert link.startswith(f"{served}/c/")

    page.goto(link)
    assert page.locator(".body").inner_text().split("\n") == [
        "9時に集合。",
        "持ち物：タオル",
        "",
        "雨の日は中止。",
    ]
    page.get_by_role("button", name="確認しました").click()
    expect(page.get_by_role("status")).to_have_text("確認しました。ありがとうございます。")
    (done,) = acknowledgements(session)
    assert (done.circular_id, done.channel) == (circular.id, Channel.web)

    # A page on another site posts to the same address, with a made-up token or none: the
    # resident meets a Japanese page in the site's style, never a framework's error page.
    for token in ('<input type="hidden" name="form_token" value="forged">', ""):
        page.set_content(
            f'<form method="post" action="{link}/confirm">{token}<button>送る</button></form>'
        )
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="送る").click()
        response = navigation.value
        assert response is not None and 400 <= response.status < 500
        assert page.locator("html").get_attribute("lang") == "ja"
        expect(page.locator("h1")).to_have_text("このボタンは使えませんでした")
        assert "Forbidden" not in page.content()
        assert page.locator("link[rel=stylesheet]").count() == 1
    assert len(acknowledgements(session)) == 1


def test_a_resident_answers_on_the_page_and_may_change_it_until_the_deadline(
    browser_page: Any, sim: SimulatorClient, session: Session, send_card: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    # The deadline: Sunday 13 December, 18:00 in Tokyo.
    deadline = datetime(2026, 12, 13, 9, 0, tzinfo=UTC)
    user, circular = send_card(
        title="清掃活動",
        question="出席しますか？",
        answer_deadline=deadline,
        options=[AnswerOption(position=1, label="出席"), AnswerOption(position=2, label="欠席")],
    )
    page.goto(detail_link(sim, user))
    deadline_text = page.locator(".question").inner_text()
    assert "12月13日（日）" in deadline_text and "2026-12-13" not in page.content()
    assert "お知らせした日：12月1日（火）" in page.locator(".meta").first.inner_text()

    page.get_by_role("button", name="出席").click()
    expect(page.get_by_role("status")).to_have_text(
        "「出席」で受け付けました。しめきりまでは変えられます。"
    )
    expect(page.get_by_role("button", name="出席")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="欠席").click()
    expect(page.get_by_role("status")).to_contain_text("「欠席」で受け付けました")
    (answered,) = acknowledgements(session)
    assert answered.answer is not None and answered.answer.label == "欠席"
    assert answered.channel is Channel.web

    # The same rule as the postback: one answer per resident, the LINE button changes it too.
    tap_card(sim, user, "出席")
    page.reload()
    expect(page.get_by_role("button", name="出席")).to_have_attribute("aria-pressed", "true")

    # The deadline passes while the page is open: pressing says so and changes nothing.
    circular.answer_deadline = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()
    page.get_by_role("button", name="欠席").click()
    expect(page.get_by_role("status")).to_have_text(
        "この回覧の回答は締め切りました。ありがとうございました。"
    )
    assert page.get_by_role("button", name="欠席").count() == 0
    (answered,) = acknowledgements(session)
    assert answered.answer is not None and answered.answer.label == "出席"


def test_details_in_the_chat_counts_as_opened_once(
    served: str, sim: SimulatorClient, session: Session, send_card: Any
) -> None:
    user, circular = send_card(title="防災訓練のお知らせ", body="一行目\n二行目")
    tap_card(sim, user, "詳しく見る")
    assert sim.inbox(user)[-1]["message"]["text"] == "防災訓練のお知らせ\n\n一行目\n二行目"
    tap_card(sim, user, "詳しく見る")
    session.expire_all()
    opened = session.scalars(select(Open.circular_id)).all()
    assert opened == [circular.id]
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
