"""Folding typed text (broadcasts/core/text.py): the one rule each feature's codes and kana use."""

import pytest

from broadcasts.core.text import hiragana, typed_name


def test_katakana_becomes_hiragana() -> None:
    assert hiragana("サクラガオカ・ヒガシ") == "さくらがおか・ひがし"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("3班 山田（12-3）", "3班 山田(12-3)"),
        ("　３班　　山田 ", "3班 山田"),
        ("山田\n\t花子", "山田 花子"),
        ("ﾔﾏﾀﾞ", "ヤマダ"),
        ("Yamada", "Yamada"),
        ("\x00\x1b", ""),
        ("", ""),
    ],
)
def test_a_name_is_kept_width_folded_with_single_spaces(typed: str, kept: str) -> None:
    assert typed_name(typed) == kept
