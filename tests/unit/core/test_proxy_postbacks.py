"""The 班長's proxy-confirmation postbacks: exact shapes only, like every other postback."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.core.postbacks import MAX_LENGTH, ProxyCircular, ProxyHousehold, decode, encode
from models import MAX_ID

ids = st.integers(min_value=1, max_value=MAX_ID)


@given(ids, ids)
def test_encoded_proxy_postbacks_decode_to_themselves(first: int, second: int) -> None:
    for postback in (ProxyCircular(first, second), ProxyHousehold(first, second)):
        data = encode(postback)
        assert len(data) <= MAX_LENGTH
        assert decode(data) == postback


@pytest.mark.parametrize(
    "data",
    ["pxy:c:1", "pxy:h:0:1", "pxy:h:01:2", "pxy:x:1:2", " pxy:h:1:2", "pxy:h:1:2:3", 7],
)
def test_anything_else_is_refused(data: object) -> None:
    assert decode(data) is None


@given(st.text(max_size=40))
def test_arbitrary_text_never_fails(data: str) -> None:
    decoded = decode(data)
    assert decoded is None or encode(decoded) == data
