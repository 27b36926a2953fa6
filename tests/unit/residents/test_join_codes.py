"""Join codes as residents type them: any width, case, spaces or hyphens; nothing else."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from broadcasts.residents.join_codes import ALPHABET, LENGTH, new_code, printed, typed_code

codes = st.text(alphabet=ALPHABET, min_size=LENGTH, max_size=LENGTH).filter(
    lambda code: any(c.isdigit() for c in code)
)
separators = st.sampled_from(["", " ", "-", "－", "ー", "　", "_"])


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(codes, separators, st.booleans(), st.booleans())
def test_a_code_is_read_back_however_it_is_typed(
    code: str, separator: str, lower: bool, wide: bool
) -> None:
    typed = f"{code[:4]}{separator}{code[4:]}"
    typed = typed.lower() if lower else typed
    typed = full_width(typed) if wide else typed
    assert typed_code(f" {typed} ") == code


@given(st.text(max_size=20))
def test_anything_else_is_not_a_code(text: str) -> None:
    found = typed_code(text)
    if found is not None:
        assert len(found) == LENGTH and set(found) <= set(ALPHABET)
        assert any(c.isdigit() for c in found)
        folded = unicodedata.normalize("NFKC", text).upper()
        assert all(c in folded for c in found)


def test_codes_use_no_look_alikes_and_print_in_two_groups() -> None:
    assert not set("01ILO") & set(ALPHABET)
    code = new_code()
    assert len(code) == LENGTH and printed(code) == f"{code[:4]}-{code[4:]}"
    assert typed_code("OIL0-1ABC") is None


def test_words_of_code_letters_are_words_not_wrong_codes() -> None:
    """An English resident's "Thursday" must not count against their tries of the day."""
    for word in ("Thursday", "saturday", "MESSAGES", "feedback", "STRENGTH"):
        assert typed_code(word) is None, word
    assert all(any(c.isdigit() for c in new_code()) for _ in range(200))
