"""Interest groups without a database: their postbacks take exact shapes only, and their codes
are read back however people type them — and never mistaken for another kind of code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.core.postbacks import InviteInterest, LeaveInterest, decode, encode
from broadcasts.households import families
from broadcasts.interest_groups.groups import CODE, printed
from broadcasts.residents import join_codes
from broadcasts.staff import invites
from models import MAX_ID

ids = st.integers(min_value=1, max_value=MAX_ID)


@given(ids)
def test_encoded_interest_postbacks_decode_to_themselves(group_id: int) -> None:
    for postback in (LeaveInterest(group_id), InviteInterest(group_id)):
        assert decode(encode(postback)) == postback


@pytest.mark.parametrize(
    "data", ["igl:0", "igl:01", f"igl:{MAX_ID + 1}", "igl:1:2", " igi:1", "igi:", "igx:1"]
)
def test_anything_else_is_refused(data: str) -> None:
    assert decode(data) is None


@pytest.mark.parametrize(
    "typed",
    ["NAKAMA-AB2C-D3EF", "nakama ab2c d3ef", "ＮＡＫＡＭＡ－ＡＢ２Ｃ－Ｄ３ＥＦ", "NAKAMAAB2CD3EF"],
)
def test_a_code_is_read_however_it_is_typed(typed: str) -> None:
    assert CODE.typed(typed) == "AB2CD3EF"
    assert printed("AB2CD3EF") == "NAKAMA-AB2C-D3EF"


def test_other_codes_and_words_are_not_interest_codes() -> None:
    for text in ("KAZOKU-AB2C-D3EF-GH4J", "KAIRAN-AB2C", "AB2CD3EF", "なかま", "NAKAMA"):
        assert CODE.typed(text) is None, text
    code = "NAKAMA-AB2C-D3EF"
    assert join_codes.typed_code(code) is None
    assert families.CODE.typed(code) is None and invites.CODE.typed(code) is None
