"""The phone page in a real headless Chromium: create a phone, add the bot, see its greeting."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from simulator.testing import SimulatorClient
from tests.helpers.browser import chromium
from tests.helpers.simulated_line import GREETING, TOKEN, TinyBot, bubble

SCREENSHOT = Path(
    os.environ.get(
        "SIMULATOR_SCREENSHOT",
        Path(__file__).resolve().parents[1] / "_output" / "simulator-phone.png",
    )
)

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page() -> Iterator[object]:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 520, "height": 900})
        page.set_default_timeout(10_000)
        yield page


def test_new_phone_add_friend_and_greeting(
    browser_page: object, base_url: str, sim: SimulatorClient, bot: TinyBot
) -> None:
    from playwright.sync_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    page.goto(base_url + "/")
    page.fill("#display-name", "山田 花子")
    page.click("#create-phone")
    page.wait_for_url("**/phones/U*")
    page.click("#add-friend")
    expect(page.locator(".bubble.bot")).to_have_text(GREETING)
    expect(page.locator("#friend-bar")).to_be_hidden()

    user_id = page.url.rsplit("/", 1)[1]
    assert sim.user(user_id)["state"] == "following"

    # A notice card with buttons and quick-reply chips, as Kairan sends them.
    card = bubble("5月の防災訓練は 6月2日（日）9時から、第一公園で行います。")
    card["footer"] = {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {
                "type": "button",
                "style": "primary",
                "action": {
                    "type": "postback",
                    "label": "確認しました",
                    "data": "ack=1",
                    "displayText": "確認しました",
                },
            },
            {
                "type": "button",
                "style": "link",
                "action": {"type": "uri", "label": "詳しく見る", "uri": "https://kairan.test/c/1"},
            },
        ],
    }
    card["header"] = {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {"type": "text", "text": "回覧: 防災訓練のお知らせ", "weight": "bold", "wrap": True}
        ],
    }
    message = {
        "type": "flex",
        "altText": "回覧: 防災訓練",
        "contents": card,
        "quickReply": {
            "items": [
                {
                    "type": "action",
                    "action": {
                        "type": "postback",
                        "label": "出席",
                        "data": "answer=yes",
                        "displayText": "出席",
                    },
                },
                {
                    "type": "action",
                    "action": {
                        "type": "postback",
                        "label": "欠席",
                        "data": "answer=no",
                        "displayText": "欠席",
                    },
                },
            ]
        },
    }
    response = bot_push(base_url, TOKEN, user_id, message)
    assert response == 200
    expect(page.locator(".flex-button", has_text="確認しました")).to_be_visible()
    expect(page.locator(".chip", has_text="出席")).to_be_visible()
    page.click(".flex-button:has-text('確認しました')")
    expect(page.locator(".bubble.user", has_text="確認しました")).to_be_visible()
    assert [e.postback.data for e in bot.events if e.type == "postback"] == ["ack=1"]

    page.fill("#message-input", "よろしくお願いします")
    page.click("#send")
    echo = page.locator(".bubble.bot", has_text="受け付けました: よろしくお願いします")
    expect(echo).to_be_visible()

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def bot_push(base_url: str, token: str, user_id: str, message: dict[str, object]) -> int:
    response = urllib3.request(
        "POST",
        base_url + "/v2/bot/message/push",
        body=json.dumps({"to": user_id, "messages": [message]}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=5,
    )
    return response.status


def test_start_page_fits_a_phone(base_url: str) -> None:
    """At a phone's width the start page's 「新しいスマホ」 button reads on one line and nothing
    runs off the side of the screen."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 375, "height": 700})
        page.goto(base_url + "/")
        button = page.locator("#create-phone")
        metrics = button.evaluate(
            """(element) => {
                const range = document.createRange();
                range.selectNodeContents(element);
                return {
                    lines: range.getClientRects().length,
                    pageWidth: document.documentElement.scrollWidth,
                    viewport: window.innerWidth,
                };
            }"""
        )
        text_box = button.evaluate(
            "(element) => { const r = document.createRange(); r.selectNodeContents(element);"
            " const b = r.getBoundingClientRect(); return {height: b.height,"
            " lineHeight: parseFloat(getComputedStyle(element).fontSize) * 1.6}; }"
        )
    assert metrics["lines"] == 1, metrics
    assert text_box["height"] <= text_box["lineHeight"], text_box
    assert metrics["pageWidth"] <= metrics["viewport"], metrics
