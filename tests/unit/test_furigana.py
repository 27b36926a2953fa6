"""Furigana from SudachiPy: readings on kanji runs only, okurigana left bare, text unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcasts.furigana import Segment, hiragana, segments


def ruby(text: str) -> list[tuple[str, str | None]]:
    return [(piece.text, piece.reading) for piece in segments(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("公民館", [("公民館", "こうみんかん")]),
        # Okurigana stay outside the ruby: 食[た]べ物[もの].
        ("食べ物", [("食", "た"), ("べ", None), ("物", "もの")]),
        ("ごみ出しの日", [("ごみ", None), ("出", "だ"), ("しの", None), ("日", "ひ")]),
        # The reading follows the context: 行います is おこな, not い.
        (
            "防災訓練を行います。",
            [
                ("防災", "ぼうさい"),
                ("訓練", "くんれん"),
                ("を", None),
                ("行", "おこな"),
                ("います。", None),
            ],
        ),
        ("Hello 世界", [("Hello ", None), ("世界", "せかい")]),
    ],
)
def test_readings_sit_on_the_kanji_alone(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert ruby(text) == expected


@pytest.mark.parametrize("text", ["ひらがなだけ", "カタカナ", "ABC 123", "", "<b>&amp;</b>"])
def test_text_without_kanji_gets_no_reading(text: str) -> None:
    assert all(piece.reading is None for piece in segments(text))
    assert "".join(piece.text for piece in segments(text)) == text


def test_readings_are_hiragana() -> None:
    assert hiragana("コウミンカン") == "こうみんかん"
    readings = [p.reading for p in segments("東京都の会議室で説明会を開催します") if p.reading]
    assert readings and all(all("ぁ" <= c <= "ゖ" or c == "ー" for c in r) for r in readings)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("漢字の読み方を学ぶ日本語テストabc<>&\"'　 \n々山川")),
        max_size=40,
    )
)
def test_the_pieces_always_join_back_into_the_text(text: str) -> None:
    pieces = segments(text)
    assert "".join(piece.text for piece in pieces) == text
    for piece in pieces:
        if piece.reading is not None:
            assert piece.reading and all(
                "\u3400" <= c <= "\u9fff" or c in "々〆ヵヶ" for c in piece.text
            ), piece


def test_a_segment_is_plain_by_default() -> None:
    assert Segment("かな").reading is None
