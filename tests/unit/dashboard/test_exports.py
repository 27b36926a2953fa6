"""The CSV writer's cell rule (issue #18, item 16); the exports themselves are tested in
tests/integration/dashboard/test_csv_exports.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from linebot_app.dashboard.exports import FORMULA_STARTS, spreadsheet_cell


@given(st.text())
def test_a_cell_never_starts_a_formula_and_keeps_its_text(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell in (text, "'" + text)


def test_numbers_stay_numbers() -> None:
    assert spreadsheet_cell(-3) == -3
    assert spreadsheet_cell(2.5) == 2.5
