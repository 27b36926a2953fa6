import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.postbacks import (
    MAX_LENGTH,
    Answer,
    AssociationPage,
    ChooseGroup,
    ChooseLanguage,
    Confirm,
    Details,
    DistrictPage,
    Menu,
    Postback,
    RegistrationControl,
    Unregister,
    decode,
    encode,
)


@pytest.mark.parametrize(
    ("postback", "data"),
    [
        (Confirm(12), "ack:12"),
        (Answer(12, 4), "ans:12:4"),
        (Details(7), "more:7"),
        (DistrictPage(0), "reg:dp:0"),
        (AssociationPage(3, 2), "reg:ap:3:2"),
        (ChooseGroup(9), "reg:g:9"),
        (RegistrationControl("ok"), "reg:ok"),
        (Unregister(confirmed=False), "unreg:cancel"),
        (Menu("settings"), "menu:settings"),
        (ChooseLanguage("easy"), "lang:easy"),
        (ChooseLanguage("en"), "lang:en"),
    ],
)
def test_encode_writes_the_documented_format_and_decode_reads_it_back(
    postback: Postback, data: str
) -> None:
    assert encode(postback) == data
    assert decode(data) == postback


@pytest.mark.parametrize(
    "data",
    [
        "ack:0",
        "ack:012",
        "ack:-1",
        "ack: 1",
        "ack:1\n",
        "ack:１",
        "ans:1:5",
        "ans:1:0",
        "ans:1",
        "more:1:2",
        "reg:dp:01",
        "reg:maybe",
        "menu:other",
        "lang:fr",
        "lang:ja-x-easy",
        "ack:" + "9" * 19,
        "",
    ],
)
def test_decode_rejects_anything_it_did_not_write(data: str) -> None:
    assert decode(data) is None


def test_encode_refuses_values_decode_would_reject() -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        encode(Answer(1, 5))


@given(st.text(max_size=MAX_LENGTH + 20))
def test_decoding_arbitrary_text_is_none_or_reencodes_identically(data: str) -> None:
    decoded = decode(data)
    assert decoded is None or encode(decoded) == data


@given(st.integers(min_value=1, max_value=10**17), st.integers(min_value=1, max_value=4))
def test_every_encoded_postback_fits_lines_limit(circular_id: int, position: int) -> None:
    for postback in (Confirm(circular_id), Answer(circular_id, position), Details(circular_id)):
        assert len(encode(postback)) <= MAX_LENGTH
