"""Text a person typed into a search box, made comparable with names and kana readings:
full-width folded (NFKC), spaces dropped, katakana as hiragana, lower case."""

from __future__ import annotations

import unicodedata


def normalized(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    folded = "".join(folded.split())
    return hiragana(folded)


def hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def found_in(text: str, *values: str) -> bool:
    """Whether normalized `text` occurs in any of `values` (names, readings, codes), each
    compared as typed text is."""
    return any(text in normalized(value) for value in values)
