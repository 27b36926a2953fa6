"""The card's excerpt of a circular's body keeps its lines and paragraphs (issue #18, item 2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from broadcasts.delivery.messages import EXCERPT_LENGTH, EXCERPT_LINES, excerpt, paragraphs


def test_a_three_line_body_keeps_its_lines_and_paragraph() -> None:
    body = "一行目\r\n二行目\r\n\r\n\r\n三行目\r\n"
    assert excerpt(body) == "一行目\n二行目\n\n三行目"
    assert paragraphs(body) == [["一行目", "二行目"], ["三行目"]]


def test_a_long_body_is_cut_with_an_ellipsis_by_length_or_lines() -> None:
    assert excerpt("あ" * 200) == "あ" * (EXCERPT_LENGTH - 1) + "…"
    many = "\n".join(f"{n}行目" for n in range(1, 20))
    assert excerpt(many) == "\n".join(f"{n}行目" for n in range(1, EXCERPT_LINES + 1)) + "…"


lines = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=12)


@given(lines, st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_excerpt_is_short_and_says_the_body_in_order(parts: list[str], end: str) -> None:
    body = end.join(parts)
    shown = excerpt(body)
    assert len(shown) <= EXCERPT_LENGTH
    assert shown.count("\n") < EXCERPT_LINES
    assert "\n\n\n" not in shown and not shown.startswith("\n") and not shown.endswith("\n")
    words = " ".join(body.split())
    assert " ".join(shown.removesuffix("…").split()) in words
