"""Furigana from SudachiPy: readings on kanji runs only, okurigana left bare, text unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcasts.circulars.furigana import Segment, segments
from broadcasts.core.text import hiragana


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


# --- numbers with counters (issue #18, item 5) ---------------------------------------------------
# A counter's reading follows its number (3日 みっか, 13日 じゅうさんにち, 30分 さんじゅっぷん):
# the ruby on the counter must be the kana it has in that phrase, or there is none at all where
# the phrase cannot be split (20日 はつか, 1人 ひとり) or has two readings (1日: ついたち or
# いちにち).


def kanji_pieces(text: str) -> list[tuple[str, str | None]]:
    """The kanji of each piece of `text` that has some, and the piece's reading."""
    pieces = [("".join(filter(_is_kanji, p.text)), p.reading) for p in segments(text)]
    return [(kanji, reading) for kanji, reading in pieces if kanji]


def counter_ruby(text: str) -> dict[str, str | None]:
    return dict(kanji_pieces(text))


def _is_kanji(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or char in "々〆ヵヶ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 日: か after 2–10, 14 and 24; にち after the others; none where it cannot be split.
        ("3月13日", {"月": "がつ", "日": "にち"}),
        ("13日", {"日": "にち"}),
        ("１３日", {"日": "にち"}),
        ("11日", {"日": "にち"}),
        ("12月1日", {"月": "がつ", "日": None}),
        ("毎月1日", {"毎月": "まいつき", "日": None}),
        ("2日", {"日": "か"}),
        ("3日", {"日": "か"}),
        ("4日", {"日": "か"}),
        ("8日", {"日": "か"}),
        ("10日", {"日": "か"}),
        ("14日", {"日": "か"}),
        ("20日", {"日": None}),
        ("24日", {"日": "か"}),
        ("30日", {"日": "にち"}),
        ("3日間", {"日間": "かかん"}),
        ("13日間", {"日間": "にちかん"}),
        # The day of the week in brackets is a weekday, not a month or a date.
        ("1日（月）", {"日": None, "月": "げつ"}),
        ("13日(日)", {"日": "にち"}),
        ("3月4日(火)", {"月": "がつ", "日": "か", "火": "か"}),
        ("5日(水)", {"日": "か", "水": "すい"}),
        # 月 and 時 keep one reading after any number.
        ("4月", {"月": "がつ"}),
        ("9月", {"月": "がつ"}),
        ("午前9時", {"午前": "ごぜん", "時": "じ"}),
        ("4時", {"時": "じ"}),
        ("午後1時30分", {"午後": "ごご", "時": "じ", "分": "ぷん"}),
        ("15分", {"分": "ふん"}),
        ("5分", {"分": "ふん"}),
        ("10分", {"分": "ぷん"}),
        # 人: ひとり and ふたり cannot be split; にん after the others.
        ("1人", {"人": None}),
        ("2人", {"人": None}),
        ("3人", {"人": "にん"}),
        ("20人", {"人": "にん"}),
        ("1,000人", {"人": "にん"}),
        # 班: はん, or none where it is also said ぱん (1班 いっぱん).
        ("1班", {"班": None}),
        ("2班", {"班": "はん"}),
        ("５班", {"班": "はん"}),
        ("10班", {"班": None}),
        # Kanji numbers: the whole number and counter where they cannot be split.
        ("二十日", {"二十日": "はつか"}),
        ("十日", {"十日": "とおか"}),
        ("三日", {"三日": "みっか"}),
        ("三日間", {"三日間": "みっかかん"}),
        ("十三日", {"十三": "じゅうさん", "日": "にち"}),
        ("一日", {"一日": None}),
        ("三人", {"三": "さん", "人": "にん"}),
        ("三十分", {"三十": None, "分": "ぷん"}),
        ("十五分", {"十五": "じゅうご", "分": "ふん"}),
        ("一人", {"一人": "ひとり"}),
    ],
)
def test_numbers_with_counters_read_right_or_carry_no_ruby(
    text: str, expected: dict[str, str | None]
) -> None:
    assert counter_ruby(text) == expected
    assert "".join(piece.text for piece in segments(text)) == text


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        # Common lines of a circular, as a whole.
        (
            "3月13日（日）午前9時から",
            [("月", "がつ"), ("日", "にち"), ("日", "にち"), ("午前", "ごぜん"), ("時", "じ")],
        ),
        ("1班と2班は8時集合", [("班", None), ("班", "はん"), ("時", "じ"), ("集合", "しゅうごう")]),
        ("参加者は5人まで", [("参加者", "さんかしゃ"), ("人", "にん")]),
        ("12月24日(木)19時", [("月", "がつ"), ("日", "か"), ("木", "もく"), ("時", "じ")]),
    ],
)
def test_common_lines_of_a_circular(text: str, readings: list[tuple[str, str | None]]) -> None:
    assert kanji_pieces(text) == readings
