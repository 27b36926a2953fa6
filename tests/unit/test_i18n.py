from pathlib import Path

from babel.messages.extract import extract_from_dir

from broadcasts.i18n import locale_for, translations

BROADCASTS = Path(__file__).resolve().parents[2] / "broadcasts"


def source_messages() -> set[str]:
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(BROADCASTS), method_map=[("**.py", "python")]
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
