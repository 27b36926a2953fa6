"""The archive's search word, as typed by a resident on any phone."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from broadcasts.residents.archive import WORD_LIMIT, clean_word


@given(st.text(alphabet=st.characters(), min_size=0, max_size=120) | st.just("あ" * 50 + " い"))
def test_a_cleaned_word_is_short_folded_single_spaced_and_stable(text: str) -> None:
    word = clean_word(text)
    assert len(word) <= WORD_LIMIT
    assert word == word.strip() and "  " not in word
    assert unicodedata.normalize("NFKC", word) == word or len(word) == WORD_LIMIT
    assert clean_word(word) == word


def test_full_width_letters_and_spaces_are_folded() -> None:
    assert clean_word("　ＡＢＣ　　防災\n訓練 ") == "ABC 防災 訓練"


def test_a_word_cut_at_the_limit_keeps_no_trailing_space() -> None:
    assert clean_word("あ" * (WORD_LIMIT - 1) + " いう") == "あ" * (WORD_LIMIT - 1)
