import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.rollout.area_file import AreaFileError, parse
from tests.helpers.settings import SAMPLE_AREAS

HEADER = (
    "district_code,district_name,district_kana,association_code,association_name,"
    "association_kana,households,paper_households,groups"
)


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return "\r\n".join([header, *rows]).encode(encoding)


def test_sample_areas_parse_whole() -> None:
    rows = parse(SAMPLE_AREAS.read_bytes())
    assert len({row.district_code for row in rows}) == 45
    assert 450 <= len(rows) <= 550
    assert any(row.groups for row in rows)
    assert any(
        sum(1 for r in rows if r.district_code == code) > 13
        for code in {row.district_code for row in rows}
    ), "some district must have more associations than LINE's 13 quick replies"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis"])
def test_excel_encodings_read_the_same(encoding: str) -> None:
    text = SAMPLE_AREAS.read_text(encoding="utf-8")
    assert parse(text.encode(encoding)) == parse(text.encode("utf-8"))


def test_japanese_headings_and_katakana_readings() -> None:
    header = "校区コード,校区名,校区よみ,自治会コード,自治会名,自治会よみ,世帯数,紙の世帯数,班"
    (row,) = parse(
        csv_bytes("D1,桜校区,サクラコウク,A1,桜町内会,ｻｸﾗﾁｮｳﾅｲｶｲ,120,10,1班;2班", header=header)
    )
    assert row.district_kana == "さくらこうく"
    assert row.association_kana == "さくらちょうないかい"
    assert row.groups == ("1班", "2班")


def test_optional_columns_may_be_absent() -> None:
    header = ",".join(HEADER.split(",")[:7])
    (row,) = parse(csv_bytes("D1,桜校区,さくら,A1,桜町内会,さくら,120", header=header))
    assert (row.paper_households, row.groups) == (0, ())


def test_every_bad_row_is_reported_with_its_line() -> None:
    with pytest.raises(AreaFileError) as caught:
        parse(
            csv_bytes(
                "D1,桜校区,さくら,A1,桜町内会,さくら,120,10,",
                "D1,桜校区,さくら,A2,,さくら,abc,10,",
                "D1,桜校区,さくら,A3,梅町内会,ume,50,60,",
                "D1,桜校区,さくら,A1,桃町内会,もも,50,0,",
                "D1,別の名前,さくら,A5,柿町内会,かき,50,0,1班;1班",
            )
        )
    problems = caught.value.problems
    assert [p.split("行目")[0] for p in problems] == ["3", "4", "6", "5"]
    assert "association_name" in problems[0] and "households" in problems[0]
    assert "association_kana" in problems[1] and "paper_households" in problems[1]
    assert "班" in problems[2]
    assert "A1" in problems[3]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "空"),
        (HEADER.encode(), "データ行"),
        (b"name,kana\r\nx,y", "missing columns"),
    ],
)
def test_unusable_files_are_refused(data: bytes, expected: str) -> None:
    with pytest.raises(AreaFileError, match=expected):
        parse(data)


@given(st.binary(max_size=2000))
def test_any_bytes_give_rows_or_a_clear_refusal(data: bytes) -> None:
    try:
        rows = parse(data)
    except AreaFileError as error:
        assert error.problems  # noqa: PT017 - either outcome is fine; a refusal must say why
    else:
        assert rows


@given(st.lists(st.text(max_size=30), min_size=9, max_size=9))
def test_any_row_under_the_right_header_gives_a_row_or_its_line(cells: list[str]) -> None:
    line = ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)
    try:
        parse(csv_bytes(line))
    except AreaFileError as error:
        assert all("line" in p or "no data rows" in p for p in error.problems)  # noqa: PT017


def test_an_unclosed_quote_is_refused_with_its_line() -> None:
    # The rest of the file becomes one cell; csv stops it at its field limit, with a reason.
    runaway = (
        'D1,桜校区,さくら,A2,"梅町内会,うめ,50,0,\r\n' + "D1,桜校区,さくら,A3,x,x,1,0,\r\n" * 9000
    )
    with pytest.raises(AreaFileError, match="3行目 / line"):
        parse(csv_bytes("D1,桜校区,さくら,A1,桜町内会,さくら,120,10,", runaway))


def test_a_file_that_is_neither_utf8_nor_shift_jis_is_refused() -> None:
    with pytest.raises(AreaFileError, match="unknown encoding"):
        parse(csv_bytes("D1,桜校区,さくら,A1,桜町内会,さくら,120,10,") + b"\x80\xff\xfe")
