from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from models import UTCDateTime

TOKYO = timezone(timedelta(hours=9))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_aware_times_are_stored_as_utc(dialect: object) -> None:
    stored = UTCDateTime().process_bind_param(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO), dialect)  # type: ignore[arg-type]
    assert stored == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert stored is not None and stored.tzinfo is UTC


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 4, 1, 9, 0), sqlite.dialect())  # noqa: DTZ001


def test_times_read_back_are_aware_utc() -> None:
    column = UTCDateTime()
    naive_from_sqlite = datetime(2026, 4, 1, 0, 0)  # noqa: DTZ001 - what SQLite hands back
    assert column.process_result_value(naive_from_sqlite, sqlite.dialect()) == datetime(
        2026, 4, 1, 0, 0, tzinfo=UTC
    )
    from_postgres = datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO)
    read = column.process_result_value(from_postgres, postgresql.dialect())
    assert read is not None and read.tzinfo is UTC and read.hour == 0
