"""The archive's postbacks: 「次へ」 of the list and of a search, and 「検索」."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.core.postbacks import (
    ArchiveFind,
    ArchivePage,
    ArchiveResults,
    Postback,
    decode,
    encode,
)


@pytest.mark.parametrize(
    ("postback", "data"),
    [(ArchivePage(0), "arc:p:0"), (ArchiveResults(12), "arc:s:12"), (ArchiveFind(), "arc:find")],
)
def test_archive_postbacks_have_the_documented_format(postback: Postback, data: str) -> None:
    assert encode(postback) == data
    assert decode(data) == postback


@given(st.integers(min_value=0, max_value=9999), st.booleans())
def test_every_page_round_trips(page: int, search: bool) -> None:
    postback = ArchiveResults(page) if search else ArchivePage(page)
    assert decode(encode(postback)) == postback


@pytest.mark.parametrize(
    "data",
    ["arc:p:01", "arc:p:-1", "arc:p:10000", "arc:s:", "arc:s:1:2", "arc:find:", "arc:p:１", "arc"],
)
def test_malformed_archive_postbacks_decode_to_nothing(data: str) -> None:
    assert decode(data) is None


def test_a_page_no_postback_can_carry_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        encode(ArchivePage(10000))
