"""Which version of a circular a resident reads, and what the author may write."""

from __future__ import annotations

import pytest

from broadcasts.circulars.translations import (
    ORIGINAL,
    TranslationError,
    Version,
    clean,
    is_language_tag,
    language_for,
)
from models import EASY_JAPANESE


@pytest.mark.parametrize(
    ("locale", "available", "expected"),
    [
        ("en", ["en"], "en"),
        ("en-US", ["en"], "en"),
        ("EN", ["en"], "en"),
        ("ja", ["en", EASY_JAPANESE], ORIGINAL),
        (EASY_JAPANESE, ["en", EASY_JAPANESE], EASY_JAPANESE),
        (EASY_JAPANESE, ["en"], ORIGINAL),
        # やさしい日本語 is chosen, never guessed from a Japanese LINE.
        ("ja-JP", [EASY_JAPANESE], ORIGINAL),
        ("zh-Hant", ["zh", "zh-Hant"], "zh-Hant"),
        ("zh-TW", ["zh", "zh-Hant"], "zh"),
        ("ko", ["en"], ORIGINAL),
        (None, ["en"], ORIGINAL),
        ("en", [], ORIGINAL),
        ("en", [ORIGINAL, "en"], "en"),
    ],
)
def test_a_resident_reads_their_language_else_the_original(
    locale: str | None, available: list[str], expected: str
) -> None:
    assert language_for(locale, available) == expected


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("en", True),
        ("zh-Hant", True),
        ("pt-BR", True),
        (EASY_JAPANESE, True),
        ("ja", False),
        ("EN", False),
        ("english", False),
        ("e", False),
        ("en_US", False),
        ("x" * 17, False),
    ],
)
def test_language_tags(tag: str, valid: bool) -> None:
    assert is_language_tag(tag) is valid


def test_clean_keeps_written_versions_and_drops_empty_ones() -> None:
    kept = clean(
        [
            Version("en", "  Drill \n day ", " Meet at nine. \n"),
            Version("ko", " ", "\n"),
            Version(EASY_JAPANESE, "", "くんれんの 日です。"),
        ],
        "訓練の日",
    )
    assert kept == (
        Version("en", "Drill day", "Meet at nine."),
        Version(EASY_JAPANESE, "訓練の日", "くんれんの 日です。"),
    )


def test_clean_refuses_the_same_language_twice() -> None:
    with pytest.raises(TranslationError) as refused:
        clean([Version("en", "A", "B"), Version("en", "C", "D")], "題")
    assert refused.value.language == "en"
