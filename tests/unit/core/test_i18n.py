import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from broadcasts.core.i18n import LOCALES as LOCALES_KNOWN
from broadcasts.core.i18n import locale_for, translations
from models import EASY_JAPANESE

REPO = Path(__file__).resolve().parents[3]
BROADCASTS = REPO / "broadcasts"
LOCALES = BROADCASTS / "core" / "locales"
# Where resident-facing text is written: the conversation (linebot_app/chat) and the services'
# pushes (welcomes, reminders, notices); babel.cfg names the same places.
SOURCES = (REPO / "linebot_app" / "chat", BROADCASTS)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def source_messages() -> set[str]:
    return {
        message
        for source in SOURCES
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(source), method_map=[("**.py", "python")]
        )
        if isinstance(message, str)
    }


def test_every_resident_facing_text_has_an_english_translation() -> None:
    english = translations("en")
    messages = source_messages()
    assert "確認しました。ありがとうございます。" in messages
    untranslated = sorted(m for m in messages if english.gettext(m) == m)
    assert untranslated == []


def test_translations_keep_their_placeholders() -> None:
    english = translations("en")
    for message in source_messages():
        for name in ("{query}", "{label}", "{name}", "{role}", "{area}", "{count}", "{page}"):
            assert (name in message) == (name in english.gettext(message)), message


def test_line_languages_map_to_japanese_or_english() -> None:
    assert [locale_for(tag) for tag in ("ja", None, "en", "en-US", "zh-Hant", "ko")] == [
        "ja",
        "ja",
        "en",
        "en",
        "en",
        "en",
    ]


def test_every_catalogue_text_has_an_easy_japanese_entry_with_its_placeholders() -> None:
    """やさしい日本語 covers every message the English catalogue covers (the bot's and the
    detail page's), keeps the placeholders, and really is a rewriting, not a copy."""
    with (LOCALES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        english = read_po(source, locale="en")
    with (LOCALES / EASY_JAPANESE / "LC_MESSAGES" / "messages.po").open("rb") as source:
        easy = read_po(source, locale="ja")
    messages = {m.id for m in english if m.id} | source_messages()
    assert sorted(m for m in messages if not (easy.get(m) and easy.get(m).string)) == []
    for message in messages:
        written = easy.get(message).string
        assert set(PLACEHOLDER.findall(message)) == set(PLACEHOLDER.findall(written)), message
    rewritten = [m for m in messages if easy.get(m).string != m]
    assert len(rewritten) > len(messages) * 3 // 4
    assert translations(EASY_JAPANESE).gettext("詳しく見る") == "くわしく 見る"


def test_easy_japanese_is_a_locale_of_its_own() -> None:
    assert locale_for(EASY_JAPANESE) == EASY_JAPANESE
    assert locale_for("JA-X-EASY") == EASY_JAPANESE
    assert EASY_JAPANESE in LOCALES_KNOWN


def test_the_circular_pages_words_are_in_both_catalogues() -> None:
    """The detail, refusal and print pages speak the resident's language too."""
    templates = REPO / "linebot_app" / "circulars" / "templates"
    words = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(templates), method_map=[("**.html", "jinja2")]
        )
        if isinstance(message, str)
    }
    assert "このボタンは使えませんでした" in words
    for locale in ("en", EASY_JAPANESE):
        with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
            catalogue = read_po(source, locale="en" if locale == "en" else "ja")
        missing = [m for m in words if not (catalogue.get(m) and catalogue.get(m).string)]
        assert sorted(missing) == [], locale
