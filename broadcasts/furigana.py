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
from dataclasses import dataclass

from sudachipy import Dictionary, SplitMode, Tokenizer

# CJK ideographs (with extensions A and the compatibility block) and the marks that stand for
# one: 々 (repeat), 〆, ヵ and ヶ read as part of a kanji word (三ヶ月).
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶ"
_KANJI_RUN = re.compile(f"([{_KANJI}]+)")
_HAS_KANJI = re.compile(f"[{_KANJI}]")
_KATAKANA = re.compile("[\u30a1-\u30f6]")

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
    for morpheme in _tokenizer().tokenize(text):
        pieces.extend(_word(morpheme.surface(), hiragana(morpheme.reading_form())))
    return _merged(pieces)


def hiragana(text: str) -> str:
    return _KATAKANA.sub(lambda match: chr(ord(match.group()) - 0x60), text)


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
