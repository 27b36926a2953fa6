"""Furigana (ふりがな): the reading of each run of kanji in a text, for <ruby> on the detail page.

Readings come from SudachiPy with its core dictionary (sudachidict_core, a package that ships
the dictionary: nothing is downloaded at run time). Sudachi analyses the sentence, so a word's
reading follows its context (行います → おこな, 行く → い), and it reads whole compounds
(公民館 → こうみんかん). Only kanji get a reading: kana, digits and latin letters are left as
they are, and the okurigana of a word (食べる) are matched off its reading so that the ruby
sits on the kanji alone (食[た]べる).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

from sudachipy import Dictionary, Morpheme, SplitMode, Tokenizer

from broadcasts.core.text import hiragana

# CJK ideographs (with extensions A and the compatibility block) and the marks that stand for
# one: 々 (repeat), 〆, ヵ and ヶ read as part of a kanji word (三ヶ月).
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶ"
_KANJI_RUN = re.compile(f"([{_KANJI}]+)")
_HAS_KANJI = re.compile(f"[{_KANJI}]")

_local = threading.local()


@dataclass(frozen=True)
class Segment:
    """A piece of text; `reading` (hiragana) is set for a run of kanji only."""

    text: str
    reading: str | None = None


def segments(text: str) -> list[Segment]:
    """`text` cut into plain pieces and kanji runs with their readings; joined, the pieces'
    texts are `text` again."""
    if not _HAS_KANJI.search(text):
        return [Segment(text)] if text else []
    pieces: list[Segment] = []
    for surface, reading in _readings(list(_tokenizer().tokenize(text))):
        pieces.extend(_word(surface, reading) if reading else [Segment(surface)])
    return _merged(pieces)


def counter_reading(number: int, counter: str) -> str | None:
    """The kana a counter has after `number` (3日 → か, 13日 → にち, 30分 → ぷん), or None where
    the phrase cannot be split between number and counter (20日 はつか, 1人 ひとり) or is said
    two ways (1日: ついたち or いちにち; 1班: いっぱん or いちはん)."""
    last = number % 10
    if number <= 0:
        return None
    if counter == "日":
        if number in (1, 20):
            return None
        return "か" if number <= 10 or number in (14, 24) else "にち"
    if counter == "人":
        return None if number in (1, 2) else "にん"
    if counter == "班":
        return None if last in (0, 1, 3, 6, 8) else "はん"
    if counter == "分":
        # 8分: はっぷん and はちふん are both said.
        return None if last == 8 else "ぷん" if last in (0, 1, 3, 4, 6) else "ふん"
    return _REGULAR_COUNTERS.get(counter)


# Counters read one way after any number.
_REGULAR_COUNTERS = {"月": "がつ", "時": "じ"}
_COUNTERS = frozenset("日人班分") | _REGULAR_COUNTERS.keys()
# A day of the week in brackets: 13日（日）, 1日（月）.
_WEEKDAYS = {
    "月": "げつ",
    "火": "か",
    "水": "すい",
    "木": "もく",
    "金": "きん",
    "土": "ど",
    "日": "にち",
}
# A kanji number and 日, read as one word (Sudachi splits them wrongly: 十日 as とう・か);
# None where it is said two ways (一日: ついたち or いちにち) or is too rare to trust.
_KANJI_DAYS: dict[int, str | None] = {
    1: None,
    2: "ふつか",
    3: "みっか",
    4: "よっか",
    5: "いつか",
    6: "むいか",
    7: "なのか",
    8: "ようか",
    9: "ここのか",
    10: "とおか",
    14: None,
    20: "はつか",
    24: None,
}
_KANJI_DIGITS = {c: n for n, c in enumerate("〇一二三四五六七八九")}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}


def _readings(morphemes: list[Morpheme]) -> list[tuple[str, str | None]]:
    """Each word and its reading (None: no ruby), with the readings Sudachi gets wrong around
    numbers put right: the counter after a number, and the weekday in brackets."""
    words: list[tuple[str, str | None]] = []
    for index, morpheme in enumerate(morphemes):
        surface = morpheme.surface()
        reading: str | None = hiragana(morpheme.reading_form())
        before = morphemes[index - 1] if index else None
        after = morphemes[index + 1] if index + 1 < len(morphemes) else None
        counter, suffix = surface[:1], surface[1:]
        if (
            surface in _WEEKDAYS
            and before is not None
            and before.surface() in ("(", "（")
            and after is not None
            and after.surface() in (")", "）")
        ):
            reading = _WEEKDAYS[surface]
        elif (
            before is not None
            and before.part_of_speech()[1] == "数詞"
            and counter in _COUNTERS
            and suffix in ("", "間")
        ):
            number = _number(before.surface())
            suffix_kana = "かん" if suffix else ""
            kana = counter_reading(number, counter) if number is not None else None
            if counter == "日" and number in _KANJI_DAYS and not before.surface().isdigit():
                # 十日 (とおか), 二十日 (はつか): one ruby over the kanji number and 日.
                whole = _KANJI_DAYS[number]
                words[-1] = (before.surface() + surface, whole and whole + suffix_kana)
                continue
            if kana == "ぷん" and number is not None and number % 10 in (0, 1, 6, 8):
                # The number changes too (三十分 さんじゅっぷん): Sudachi's さんじゅう is wrong.
                words[-1] = (before.surface(), None)
            reading = kana + suffix_kana if kana else None
        words.append((surface, reading))
    return words


def _number(text: str) -> int | None:
    """The value of a number as Sudachi cuts it: digits (any width, with thousands commas) or
    kanji (二十, 三百); None for anything else."""
    plain = unicodedata.normalize("NFKC", text).replace(",", "")
    if plain.isascii() and plain.isdigit():
        return int(plain)
    total, digit = 0, None
    for char in text:
        if char in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[char]
        elif char in _KANJI_UNITS:
            total += (1 if digit is None else digit) * _KANJI_UNITS[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _word(surface: str, reading: str) -> list[Segment]:
    """Put the reading on the word's kanji runs by matching its kana against the reading."""
    parts = [part for part in _KANJI_RUN.split(surface) if part]
    if not any(_HAS_KANJI.match(part) for part in parts):
        return [Segment(surface)]
    pattern = "".join(
        "(.+?)" if _HAS_KANJI.match(part) else re.escape(hiragana(part)) for part in parts
    )
    match = re.fullmatch(pattern, reading) if reading else None
    if match is None:
        # No reading, or one that does not line up with the word's kana (an unknown word, a
        # digit read as part of a counter): better no furigana than a wrong one.
        return [Segment(surface)]
    readings = iter(match.groups())
    return [
        Segment(part, next(readings)) if _HAS_KANJI.match(part) else Segment(part) for part in parts
    ]


def _merged(pieces: list[Segment]) -> list[Segment]:
    """Neighbouring plain pieces as one, so the page holds no needless fragments."""
    merged: list[Segment] = []
    for piece in pieces:
        if merged and piece.reading is None and merged[-1].reading is None:
            merged[-1] = Segment(merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def _tokenizer() -> Tokenizer:
    # A Sudachi tokenizer is not safe to share between threads; the dictionary it reads is
    # memory-mapped, so one per thread costs little.
    tokenizer: Tokenizer | None = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
        _local.tokenizer = tokenizer
    return tokenizer


@functools.cache
def _dictionary() -> Dictionary:
    return Dictionary(dict="core")
