"""Dashboard sessions live on the server (issue #18, item 14): logging out or losing a role ends
a session everywhere, so a copied cookie stops reading anything at once."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.staff import logins
from models import (
    Association,
    Circular,
    CircularStatus,
    CircularTarget,
    DashboardSession,
    Delivery,
    DeliveryStatus,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)

NAME = "見守り太郎"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def log_in_with_link(session: Session, client: Any, member: StaffMember) -> None:
    """What a staff member does: open the link from LINE and press the button."""
    issued = logins.issue(session, SystemClock(), member)
    session.commit()
    url = f"/dashboard/login/{issued.token}"
    token = _csrf(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token}).status_code == 302


def copy_of(client: Any, dashboard_client: Callable[..., Any]) -> Any:
    """Another browser holding a copy of the client's cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = dashboard_client()
    thief.set_cookie("session", cookie.value)
    return thief


@pytest.fixture
def officer_page(
    session: Session,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> tuple[StaffMember, str]:
    """An officer of an association with a resident who has not confirmed a circular, and the
    page that names that resident."""
    association = make_association(name="東町内会")
    officer = make_staff(Role.officer, association_id=association.id)
    circular = make_circular(author=officer, status=CircularStatus.sent)
    circular.targets.append(CircularTarget(association_id=association.id))
    resident = make_resident(association=association, display_name=NAME)
    session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
    session.commit()
    return officer, f"/dashboard/circulars/{circular.id}/not-confirmed"


def test_a_copied_cookie_reads_nothing_after_logout(
    session: Session,
    dashboard_client: Callable[..., Any],
    officer_page: tuple[StaffMember, str],
) -> None:
    officer, names_page = officer_page
    browser = dashboard_client()
    log_in_with_link(session, browser, officer)
    thief = copy_of(browser, dashboard_client)
    assert NAME in thief.get(names_page).get_data(as_text=True)

    page = browser.get("/dashboard/").get_data(as_text=True)
    assert browser.post("/dashboard/logout", data={"csrf_token": _csrf(page)}).status_code == 302

    stolen = thief.get(names_page)
    assert stolen.status_code == 302
    assert stolen.headers["Location"].endswith("/dashboard/login")
    assert NAME not in stolen.get_data(as_text=True)
    assert browser.get(names_page).status_code == 302


def test_removing_a_role_ends_the_members_sessions(
    session: Session,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
    officer_page: tuple[StaffMember, str],
) -> None:
    officer, names_page = officer_page
    # A second role, which stays: the session still ends, and the next login gets what is left.
    kept = StaffRole(role=Role.promoter, district_id=officer.roles[0].association.district_id)
    officer.roles.append(kept)
    admin = make_staff(Role.admin)
    session.commit()
    browser = dashboard_client()
    log_in_with_link(session, browser, officer)
    assert NAME in browser.get(names_page).get_data(as_text=True)

    admin_browser = dashboard_client(admin)
    staff_page = admin_browser.get("/dashboard/staff").get_data(as_text=True)
    removed = officer.roles[0].id
    response = admin_browser.post(
        f"/dashboard/staff/roles/{removed}/remove", data={"csrf_token": _csrf(staff_page)}
    )
    assert response.status_code == 302

    # Not even the pages the kept role shows: the member logs in again first.
    after = browser.get("/dashboard/")
    assert after.status_code == 302
    assert after.headers["Location"].endswith("/dashboard/login")
    assert NAME not in browser.get(names_page).get_data(as_text=True)
    # The admin's own session is untouched.
    assert admin_browser.get("/dashboard/staff").status_code == 200


def test_the_session_id_is_neither_stored_nor_logged(
    app: Flask,
    session: Session,
    dashboard_client: Callable[..., Any],
    officer_page: tuple[StaffMember, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    officer, names_page = officer_page
    caplog.set_level(logging.DEBUG)
    browser = dashboard_client()
    log_in_with_link(session, browser, officer)
    browser.get(names_page)
    cookie = browser.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    session_id = serializer.loads(cookie.value)["dashboard_session"]
    assert len(session_id) >= 43  # 256 random bits

    session.expire_all()
    stored = session.scalars(select(DashboardSession)).one()
    assert stored.token_hash == logins.token_hash(session_id)
    assert session_id not in caplog.text
