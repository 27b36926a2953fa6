"""Numbers read from a request (a URL, a query string, a form), bounded to what the database
holds: every id column is an integer (models.MAX_ID), and PostgreSQL refuses a query that
compares one with a larger number ("integer out of range") where SQLite overflows in Python.
A number out of range is refused like any other malformed value: it names nothing."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

from models import MAX_ID

# More pages than any list has; a larger page would overflow the query's OFFSET.
MAX_PAGE = 100_000


def id_value(value: str | int) -> int:
    """An id, for `request.args.get(type=…)` and WTForms' `coerce`: ValueError when it is not
    a positive integer within the id columns (both read that as "no valid value")."""
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError("not an id")
    return number


def page_value(value: str) -> int:
    """A page number (1…MAX_PAGE), for `request.args.get(type=…)`."""
    number = int(value)
    if not 1 <= number <= MAX_PAGE:
        raise ValueError("not a page")
    return number


class IdConverter(IntegerConverter):
    """`<int:…>` in every route, bounded to the id columns: a larger number is not found."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
