"""Every dashboard text, and every StaffText a service tells staff, has an English translation
with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from flask import Flask

from broadcasts.core.i18n import StaffText
from broadcasts.delivery.monthly_quota import short_of_quota
from linebot_app.dashboard.i18n import catalogue, localized

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


# pgettext's first argument is the context, its second the message (babel.cfg: pgettext:1c,2).
PGETTEXT = {"pgettext": ((1, "c"), 2)}


def _extracted(
    folder: Path, method_map: list[tuple[str, str]], keywords: list[str]
) -> set[tuple[str | None, str]]:
    return {
        (context, message)
        for _file, _line, message, _comments, context in extract_from_dir(
            str(folder), method_map=method_map, keywords={**dict.fromkeys(keywords), **PGETTEXT}
        )
        if isinstance(message, str)
    }


def test_every_dashboard_text_is_translated_with_its_placeholders() -> None:
    # The same sources and keywords as linebot_app/dashboard/babel.cfg.
    messages = _extracted(
        ROOT / "linebot_app" / "dashboard",
        [("**.py", "python"), ("templates/**.html", "jinja2")],
        ["_", "gettext", "_l"],
    ) | _extracted(ROOT / "broadcasts", [("**.py", "python")], ["StaffText"])
    assert (None, "まだ確認していない人") in messages
    assert (None, "題名は%(limit)s文字までです（%(length)s文字）") in messages
    assert ("button", "送信") in messages
    english = catalogue("en")

    def translated(context: str | None, message: str) -> str:
        return english.pgettext(context, message) if context else english.gettext(message)

    assert [m for m in sorted(messages, key=str) if translated(*m) == m[1]] == []
    for context, message in messages:
        assert set(PLACEHOLDER.findall(message)) == set(
            PLACEHOLDER.findall(translated(context, message))
        ), message


def test_staff_text_is_japanese_and_the_dashboard_shows_it_in_its_language(app: Flask) -> None:
    shortage = short_of_quota(needed=3, available=-2)
    assert isinstance(shortage, str)
    assert shortage == "今月のメッセージ残数が足りません（必要 3 通、残り 0 通）"
    assert (shortage.template, shortage.values) == (
        "今月のメッセージ残数が足りません（必要 %(needed)s 通、残り %(left)s 通）",
        {"needed": 3, "left": 0},
    )
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert localized(shortage) == "Not enough messages left this month (3 needed, 0 left)"
        # A reason stored on a circular comes back as a plain string: found when it has no values.
        stored = str(StaffText("届け先に登録済みの住民がいません"))
        assert localized(stored) == "No registered residents among the recipients."
        assert localized(str(shortage)) == str(shortage)
        assert localized("") == ""
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert localized(shortage) == shortage
