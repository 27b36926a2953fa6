"""Folding typed text (broadcasts/core/text.py): the one rule each feature's codes and kana use."""

from broadcasts.core.text import hiragana


def test_katakana_becomes_hiragana() -> None:
    assert hiragana("サクラガオカ・ヒガシ") == "さくらがおか・ひがし"
