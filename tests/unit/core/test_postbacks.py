import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.core.postbacks import (
    MAX_LENGTH,
    Answer,
    AssociationPage,
    ChooseGroup,
    ChooseLanguage,
    ComposeBrowse,
    ComposeToggle,
    Confirm,
    Details,
    DistrictPage,
    Headcount,
    Menu,
    Postback,
    ProxyCircular,
    ProxyHousehold,
    RegistrationControl,
    Respond,
    TypeCount,
    Unregister,
    decode,
    encode,
)
from models import MAX_ID


@pytest.mark.parametrize(
    ("postback", "data"),
    [
        (Confirm(12), "ack:12"),
        (Answer(12, 4), "ans:12:4"),
        (Details(7), "more:7"),
        (Respond(7), "say:7"),
        (Headcount(7, 0), "cnt:7:0"),
        (Headcount(7, 20), "cnt:7:20"),
        (TypeCount(7), "num:7"),
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
        "cnt:1:21",
        "cnt:1:-1",
        "cnt:1:05",
        "cnt:1",
        "say:1:2",
        "num:0",
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


@given(st.integers(min_value=1, max_value=MAX_ID), st.integers(min_value=1, max_value=4))
def test_every_encoded_postback_fits_lines_limit(circular_id: int, position: int) -> None:
    for postback in (Confirm(circular_id), Answer(circular_id, position), Details(circular_id)):
        assert len(encode(postback)) <= MAX_LENGTH


# Every format that carries an id, with {} where the id goes (the other ids in range).
ID_FORMATS = [
    "ack:{}",
    "ans:{}:1",
    "more:{}",
    "say:{}",
    "cnt:{}:3",
    "num:{}",
    "reg:d:{}",
    "reg:ap:{}:0",
    "reg:a:{}",
    "reg:gp:{}:0",
    "reg:g:{}",
    "cmp:b:a:{}:0",
    "cmp:b:g:{}:0",
    "cmp:t:d:{}",
    "cmp:t:g:{}",
    "pxy:c:{}:1",
    "pxy:c:1:{}",
    "pxy:h:{}:1",
    "pxy:h:1:{}",
]


@given(st.sampled_from(ID_FORMATS), st.integers(min_value=MAX_ID + 1, max_value=10**40))
def test_an_id_beyond_the_id_columns_is_refused(template: str, number: int) -> None:
    # PostgreSQL's integer columns end at MAX_ID: a larger id names no row and must never
    # reach a query, where PostgreSQL answers "integer out of range".
    assert decode(template.format(number)) is None


@given(st.sampled_from(ID_FORMATS), st.integers(min_value=1, max_value=MAX_ID))
def test_every_id_up_to_the_columns_limit_is_read(template: str, number: int) -> None:
    decoded = decode(template.format(number))
    assert decoded is not None and encode(decoded) == template.format(number)


def test_the_largest_ids_are_read_and_written() -> None:
    assert decode(f"ack:{MAX_ID}") == Confirm(MAX_ID)
    assert decode(f"pxy:h:{MAX_ID}:{MAX_ID}") == ProxyHousehold(MAX_ID, MAX_ID)
    assert decode(f"cmp:b:g:{MAX_ID}:0") == ComposeBrowse("g", MAX_ID, 0)
    assert decode(f"cmp:t:a:{MAX_ID}") == ComposeToggle("a", MAX_ID)
    assert decode(f"pxy:c:1:{MAX_ID}") == ProxyCircular(1, MAX_ID)
    with pytest.raises(ValueError, match="cannot encode"):
        encode(Confirm(MAX_ID + 1))
