"""The dashboard's pages carry the resident pages' protective headers (issue #18, item 19): no
framing, no MIME sniffing, no referrer (login links are in paths), and nothing kept in a cache,
since many pages name residents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.staff import logins
from models import (
    Association,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    Resident,
    Role,
    StaffMember,
)


@pytest.fixture
def pages(
    session: Session,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> tuple[StaffMember, StaffMember, dict[str, str]]:
    association = make_association(name="東町内会")
    officer = make_staff(Role.officer, association_id=association.id)
    admin = make_staff(Role.admin)
    circular = make_circular(author=officer, status=CircularStatus.sent)
    circular.targets.append(CircularTarget(association_id=association.id))
    resident = make_resident(association=association, display_name="見守り太郎")
    session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
    link = logins.issue(session, SystemClock(), officer)
    session.commit()
    return (
        officer,
        admin,
        {
            "login help": "/dashboard/login",
            "login link": f"/dashboard/login/{link.token}",
            "circulars": "/dashboard/",
            "statistics": f"/dashboard/circulars/{circular.id}",
            "names": f"/dashboard/circulars/{circular.id}/not-confirmed",
            "associations": "/dashboard/associations",
            "staff (admin)": "/dashboard/staff",
            "not found": "/dashboard/circulars/999999",
        },
    )


@pytest.mark.parametrize(
    "page",
    [
        "login help",
        "login link",
        "circulars",
        "statistics",
        "names",
        "associations",
        "staff (admin)",
        "not found",
    ],
)
def test_every_dashboard_page_forbids_framing_sniffing_and_caching(
    page: str,
    pages: tuple[StaffMember, StaffMember, dict[str, str]],
    dashboard_client: Callable[..., Any],
) -> None:
    officer, admin, urls = pages
    who = admin if page == "staff (admin)" else officer
    response = dashboard_client(None if page.startswith("login") else who).get(urls[page])
    assert response.status_code == (404 if page == "not found" else 200)
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy and "base-uri 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_the_dashboards_stylesheet_may_still_be_cached(
    dashboard_client: Callable[..., Any],
) -> None:
    with dashboard_client().get("/dashboard/static/dashboard/dashboard.css") as response:
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_mistyped_dashboard_address_gets_the_dashboards_own_page(
    language: str,
    pages: tuple[StaffMember, StaffMember, dict[str, str]],
    dashboard_client: Callable[..., Any],
) -> None:
    """An address cut off in a mail or mistyped is no route at all: the dashboard's own page, in
    the dashboard's language and with its headers, not the framework's English "Not Found"."""
    officer, _admin, _urls = pages
    client = dashboard_client(officer)
    client.get(f"/dashboard/language/{language}")
    response = client.get("/dashboard/circluars/1")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not Found" not in page
    assert ("見つかりませんでした。" if language == "ja" else "Not found.") in page
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
