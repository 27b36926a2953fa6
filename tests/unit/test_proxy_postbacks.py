"""The 班長's proxy-confirmation postbacks: exact shapes only, like every other postback."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.postbacks import (
    MAX_LENGTH,
    ProxyCircular,
    ProxyHousehold,
    decode,
    decode_proxy,
    encode_proxy,
)

ids = st.integers(min_value=1, max_value=10**17)


@given(ids, ids)
def test_encoded_proxy_postbacks_decode_to_themselves(first: int, second: int) -> None:
    for postback in (ProxyCircular(first, second), ProxyHousehold(first, second)):
        data = encode_proxy(postback)
        assert len(data) <= MAX_LENGTH
        assert decode_proxy(data) == postback
        # The general decoder does not know them: no handler can take one for another kind.
        assert decode(data) is None


@pytest.mark.parametrize(
    "data",
    ["pxy:c:1", "pxy:h:0:1", "pxy:h:01:2", "pxy:x:1:2", " pxy:h:1:2", "pxy:h:1:2:3", "ack:1", 7],
)
def test_anything_else_is_refused(data: object) -> None:
    assert decode_proxy(data) is None


@given(st.text(max_size=40))
def test_arbitrary_text_never_fails(data: str) -> None:
    decoded = decode_proxy(data)
    assert decoded is None or encode_proxy(decoded) == data
