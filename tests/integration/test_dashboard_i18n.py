"""Every dashboard text has an English translation with the same placeholders."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from linebot_app.dashboard.i18n import catalogue

DASHBOARD = Path(__file__).resolve().parents[2] / "linebot_app" / "dashboard"


def test_every_dashboard_text_is_translated_with_its_placeholders() -> None:
    messages = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(DASHBOARD),
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
            keywords={"_": None, "gettext": None, "_l": None},
        )
        if isinstance(message, str)
    }
    assert "まだ確認していない人" in messages
    english = catalogue("en")
    assert [m for m in sorted(messages) if english.gettext(m) == m] == []
    for message in messages:
        assert ("%(n)s" in message) == ("%(n)s" in english.gettext(message)), message
