"""Invite codes as people paste or type them: any width, case and separators; look-alike letters
read as the digits they resemble; anything else is not one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from broadcasts.core.invite_codes import InviteCode, code_hash

FAMILY = InviteCode("KAZOKU", 12)


def test_an_issued_code_reads_back_to_what_is_hashed() -> None:
    code, hashed = FAMILY.issue()
    assert code.startswith("KAZOKU-") and len(code.split("-")) == 4
    body = FAMILY.typed(code)
    assert body is not None and code_hash(body) == hashed


@given(st.sampled_from(["", " ", "-", "　", "ー"]), st.booleans())
def test_width_case_and_separators_do_not_matter(separator: str, wide: bool) -> None:
    code, hashed = FAMILY.issue()
    typed = code.replace("-", separator).lower()
    if wide:
        typed = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in typed)
    body = FAMILY.typed(typed)
    assert body is not None and code_hash(body) == hashed


def test_look_alikes_read_as_digits_and_other_text_is_no_code() -> None:
    assert FAMILY.typed("KAZOKU-ABCO-IL00") == "ABC01100"
    # A code missing letters is a wrong code (the resident is told), not chat.
    assert FAMILY.typed("kazoku 12") == "12"
    for text in ("KAZOKU", "KAZOKU-", "KAIRAN-ABCD", "KAZOKU-ÄBC", "こんにちは", "KAZOKU-AB!"):
        assert FAMILY.typed(text) is None, text
