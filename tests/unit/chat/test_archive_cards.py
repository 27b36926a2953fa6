"""The archive's cards: each circular in the version its reader reads."""

from datetime import UTC, datetime

import pytest

from broadcasts.residents.archive import Entry, Page
from linebot_app.chat.archive import archive
from models import EASY_JAPANESE, Circular, CircularTranslation


def card_titles(locale: str | None) -> list[str]:
    circular = Circular(
        id=7,
        title="清掃活動のお知らせ",
        body="日曜日の朝に公園を清掃します。",
        released_at=datetime(2026, 11, 29, 1, 0, tzinfo=UTC),
        confirmation_required=True,
        translations=[
            CircularTranslation(language="en", title="Park clean-up", body="On Sunday morning."),
            CircularTranslation(
                language=EASY_JAPANESE, title="こうえんの そうじ", body="にちようび"
            ),
        ],
    )
    (message,) = archive(Page((Entry(circular, False),), 0, False), locale, lambda i: f"/c/{i}")
    bubble = message.contents.contents[0]  # type: ignore[attr-defined]
    return [text.text for text in bubble.body.contents if text.size == "xl"]


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("en", "Park clean-up"),
        ("en-US", "Park clean-up"),
        (EASY_JAPANESE, "こうえんの そうじ"),
        ("ja", "清掃活動のお知らせ"),
        (None, "清掃活動のお知らせ"),
    ],
)
def test_the_archive_shows_each_title_in_the_readers_version(
    locale: str | None, title: str
) -> None:
    assert card_titles(locale) == [title]
