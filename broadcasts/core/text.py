"""Folding what people type, so that how it was typed does not matter: full or half width, upper
or lower case, katakana or hiragana, any kind of space or hyphen. One rule each, used by every
feature that reads such text: a code copied from a chat or a flyer, kana, and a short name."""

from __future__ import annotations

import re
import unicodedata

# Spaces and every hyphen a Japanese keyboard offers; NFKC has already made full-width ones half.
_SEPARATORS = re.compile(r"[\s\-_‐－ー−]")
_KATAKANA = re.compile("[\u30a1-\u30f6]")
# Control characters (a tab, a line break pasted in): made spaces.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def typed_code(text: str, prefix: str = "") -> str | None:
    """The code in what a person typed: full width to half (NFKC), upper case, without spaces or
    hyphens, and without `prefix`, which must be there when given. None unless ASCII letters and
    digits remain. Each kind of code then checks its own shape."""
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).upper())
    if not folded.startswith(prefix):
        return None
    body = folded.removeprefix(prefix)
    return body if body and body.isascii() and body.isalnum() else None


def hiragana(text: str) -> str:
    """Katakana as hiragana (サクラ → さくら), everything else as it is: readings are kept and
    matched in hiragana, so either script finds them."""
    return _KATAKANA.sub(lambda match: chr(ord(match.group()) - 0x60), text)


def typed_name(text: str) -> str:
    """A short name as a person typed it (a household's label): full width to half (NFKC),
    control characters and every run of spaces made one space, the ends trimmed. Case and kana
    are kept: it is shown as written."""
    flat = _CONTROLS.sub(" ", unicodedata.normalize("NFKC", text))
    return " ".join(flat.split())


def typed_word(text: str) -> str:
    """For matching what a resident types (a word, part of a name): full-width to half-width,
    katakana to hiragana, lower case, no spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(hiragana(folded).split())
