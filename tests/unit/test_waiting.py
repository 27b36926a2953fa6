import re
import time
from pathlib import Path

import pytest

from tests.helpers import waiting

TESTS = Path(__file__).resolve().parents[1]


def test_a_met_condition_returns_at_once_with_its_value() -> None:
    started = time.monotonic()
    assert waiting.wait_until(lambda: ["ready"], "a list") == ["ready"]
    assert time.monotonic() - started < waiting.PATIENCE


def test_an_unmet_condition_fails_naming_what_it_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(waiting, "PATIENCE", 0.2)
    with pytest.raises(AssertionError, match="the log said: nothing yet"):
        waiting.wait_until(lambda: False, lambda: "the log said: nothing yet")


def test_no_test_sets_a_deadline_of_its_own() -> None:
    """A busy machine makes short fixed deadlines fail passing tests: all go through
    tests/helpers/waiting.py and its one generous bound."""
    own = re.compile(r"monotonic\(\)\s*\+")
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "waiting.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if own.search(line)
    ]
    assert offenders == []
