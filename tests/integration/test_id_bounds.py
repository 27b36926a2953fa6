"""Ids read from a URL are bounded to the id columns (issue #18, item 13): an id beyond
PostgreSQL's integer names nothing and is answered 404, never "integer out of range" (500)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models import MAX_ID, StaffMember

TOO_LARGE = MAX_ID + 1


@pytest.mark.parametrize(
    "path",
    [
        f"/dashboard/circulars/{TOO_LARGE}",
        f"/dashboard/circulars/{TOO_LARGE}/progress",
        f"/dashboard/compose/{TOO_LARGE}",
        f"/dashboard/associations/{TOO_LARGE}/groups",
        f"/dashboard/safety/{TOO_LARGE}",
        f"/print/{TOO_LARGE}",
    ],
)
def test_an_id_beyond_the_columns_in_a_url_is_not_found(
    path: str,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
) -> None:
    client = dashboard_client(make_staff())
    response = client.get(path)
    assert response.status_code == 404, response.status_code
    assert "integer" not in response.get_data(as_text=True)
