"""Ids read from a URL are bounded to the id columns (issue #18, item 13): an id beyond
PostgreSQL's integer names nothing and is answered 404, never "integer out of range" (500)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import MAX_ID, Association, Circular, StaffMember

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


def test_ids_and_pages_beyond_the_columns_in_a_query_or_form_are_refused_cleanly(
    session: Session,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
    make_association: Callable[..., Association],
) -> None:
    association = make_association()
    client = dashboard_client(make_staff())
    join = f"/dashboard/associations/{association.id}/join"
    assert client.get(f"{join}/../flyer.pdf?group={TOO_LARGE}").status_code == 404
    assert client.post(f"{join}/rotate?group={TOO_LARGE}").status_code == 404
    for page in (f"/dashboard/?page={10**20}", f"/dashboard/audit?page={10**20}"):
        assert client.get(page).status_code == 200, page
    composed = client.post(
        "/dashboard/compose",
        data={"title": "お知らせ", "body": "本文", "associations": [str(TOO_LARGE)]},
    )
    assert composed.status_code in (200, 400), composed.status_code
    page = client.get("/dashboard/safety").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    safety = client.post(
        "/dashboard/safety", data={"csrf_token": token[1], "area": f"a:{TOO_LARGE}"}
    )
    assert safety.status_code == 302, safety.status_code
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Circular)) == 0
