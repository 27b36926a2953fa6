"""Who may open which dashboard page: the role matrix, guessed ids, sessions and CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.staff import logins
from models import (
    Association,
    AuditEntry,
    Circular,
    CircularStatus,
    CircularTarget,
    DashboardSession,
    Delivery,
    DeliveryStatus,
    InboxThread,
    LoginLink,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from tests.helpers.clock import FakeClock


@dataclass
class World:
    admin: StaffMember
    promoter_a: StaffMember
    officer_x: StaffMember
    officer_y: StaffMember
    no_role: StaffMember
    x: Association
    x2: Association
    y: Association
    circular_x: Circular  # targets association X (district A)
    circular_y: Circular  # targets association Y (district B)
    # What a resident of X (of Y) wrote to their association (「自治会へ」).
    thread_x: InboxThread
    thread_y: InboxThread


@pytest.fixture
def world(
    session: Session,
    make_district: Callable[..., Any],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> World:
    district_a = make_district(name="A校区")
    district_b = make_district(name="B校区")
    x = make_association(district=district_a, name="X町内会", groups=("1班", "2班"))
    x2 = make_association(district=district_a, name="X2町内会")
    y = make_association(district=district_b, name="Y町内会")
    admin = make_staff(Role.admin)
    promoter_a = make_staff(Role.promoter, district_id=district_a.id)
    officer_x = make_staff(Role.officer, association_id=x.id)
    officer_y = make_staff(Role.officer, association_id=y.id)
    no_role = StaffMember(line_user_id="U" + "e" * 32, display_name="元職員")
    session.add(no_role)
    circulars, threads = [], []
    for association in (x, y):
        circular = make_circular(author=admin, status=CircularStatus.sent)
        circular.targets.append(CircularTarget(association_id=association.id))
        resident = make_resident(association=association, display_name=f"{association.name}住民")
        session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
        circulars.append(circular)
        session.flush()
        thread = InboxThread(association_id=association.id, resident_id=resident.id)
        session.add(thread)
        threads.append(thread)
    session.commit()
    return World(admin, promoter_a, officer_x, officer_y, no_role, x, x2, y, *circulars, *threads)


def routes(w: World) -> dict[str, str]:
    cx, cy = w.circular_x.id, w.circular_y.id
    return {
        "list": "/dashboard/",
        "stats_x": f"/dashboard/circulars/{cx}",
        "stats_y": f"/dashboard/circulars/{cy}",
        "progress_x": f"/dashboard/circulars/{cx}/progress",
        "progress_y": f"/dashboard/circulars/{cy}/progress",
        "csv_x": f"/dashboard/circulars/{cx}/stats.csv",
        "csv_y": f"/dashboard/circulars/{cy}/stats.csv",
        "answers_x": f"/dashboard/circulars/{cx}/answers.csv",
        "answers_y": f"/dashboard/circulars/{cy}/answers.csv",
        "unconfirmed_x": f"/dashboard/circulars/{cx}/not-confirmed?association={w.x.id}",
        "unconfirmed_y": f"/dashboard/circulars/{cy}/not-confirmed?association={w.y.id}",
        "associations": "/dashboard/associations",
        "reach_csv": "/dashboard/associations.csv",
        "staff": "/dashboard/staff",
        "audit": "/dashboard/audit",
        "missing": "/dashboard/circulars/999999",
        "inbox": "/dashboard/inbox",
        "thread_x": f"/dashboard/inbox/{w.thread_x.id}",
        "thread_y": f"/dashboard/inbox/{w.thread_y.id}",
    }


OK, NOT_FOUND, FORBIDDEN, LOGIN = 200, 404, 403, 302

# viewer → route → status. Anything outside a viewer's scope is 404, existing or not.
# Promoters and officers have a staff page since issue #20: they invite the roles below them.
MATRIX: dict[str, dict[str, int]] = {
    "admin": {
        "list": OK, "stats_x": OK, "stats_y": OK, "progress_x": OK, "progress_y": OK,
        "csv_x": OK, "csv_y": OK, "answers_x": OK, "answers_y": OK,
        "unconfirmed_x": NOT_FOUND, "unconfirmed_y": NOT_FOUND,
        "associations": OK, "reach_csv": OK, "staff": OK, "audit": OK, "missing": NOT_FOUND,
        # What residents write to their association is for its officers alone.
        "inbox": NOT_FOUND, "thread_x": NOT_FOUND, "thread_y": NOT_FOUND,
    },
    "promoter_a": {
        "list": OK, "stats_x": OK, "stats_y": NOT_FOUND, "progress_x": OK,
        "progress_y": NOT_FOUND, "csv_x": OK, "csv_y": NOT_FOUND, "answers_x": OK,
        "answers_y": NOT_FOUND, "unconfirmed_x": NOT_FOUND, "unconfirmed_y": NOT_FOUND,
        "associations": OK, "reach_csv": OK, "staff": OK, "audit": NOT_FOUND,
        "missing": NOT_FOUND, "inbox": NOT_FOUND, "thread_x": NOT_FOUND, "thread_y": NOT_FOUND,
    },
    "officer_x": {
        "list": OK, "stats_x": OK, "stats_y": NOT_FOUND, "progress_x": OK,
        "progress_y": NOT_FOUND, "csv_x": OK, "csv_y": NOT_FOUND, "answers_x": OK,
        "answers_y": NOT_FOUND, "unconfirmed_x": OK, "unconfirmed_y": NOT_FOUND,
        "associations": OK, "reach_csv": OK, "staff": OK, "audit": NOT_FOUND,
        "missing": NOT_FOUND, "inbox": OK, "thread_x": OK, "thread_y": NOT_FOUND,
    },
    "officer_y": {
        "list": OK, "stats_x": NOT_FOUND, "stats_y": OK, "progress_x": NOT_FOUND,
        "progress_y": OK, "csv_x": NOT_FOUND, "csv_y": OK, "answers_x": NOT_FOUND,
        "answers_y": OK, "unconfirmed_x": NOT_FOUND, "unconfirmed_y": OK,
        "associations": OK, "reach_csv": OK, "staff": OK, "audit": NOT_FOUND,
        "missing": NOT_FOUND, "inbox": OK, "thread_x": NOT_FOUND, "thread_y": OK,
    },
    # A staff member whose roles were all removed (or a resident who never had one).
    "no_role": dict.fromkeys(
        (
            "list", "stats_x", "stats_y", "progress_x", "progress_y", "csv_x", "csv_y",
            "answers_x", "answers_y", "unconfirmed_x", "unconfirmed_y", "associations",
            "reach_csv", "staff", "audit", "missing", "inbox", "thread_x", "thread_y",
        ),
        FORBIDDEN,
    ),
    "anonymous": dict.fromkeys(
        (
            "list", "stats_x", "stats_y", "progress_x", "progress_y", "csv_x", "csv_y",
            "answers_x", "answers_y", "unconfirmed_x", "unconfirmed_y", "associations",
            "reach_csv", "staff", "audit", "missing", "inbox", "thread_x", "thread_y",
        ),
        LOGIN,
    ),
}  # fmt: skip


@pytest.mark.parametrize("who", list(MATRIX))
def test_every_route_answers_each_role_within_its_scope(
    who: str, world: World, dashboard_client: Callable[..., Any]
) -> None:
    member = None if who == "anonymous" else getattr(world, who)
    got = {
        name: dashboard_client(member).get(url).status_code for name, url in routes(world).items()
    }
    assert got == MATRIX[who]


def test_scoped_pages_show_only_what_is_in_scope(
    world: World, dashboard_client: Callable[..., Any]
) -> None:
    listed = dashboard_client(world.officer_x).get("/dashboard/").get_data(as_text=True)
    assert f"/dashboard/circulars/{world.circular_x.id}" in listed
    assert f"/dashboard/circulars/{world.circular_y.id}" not in listed

    reach = dashboard_client(world.promoter_a).get("/dashboard/associations").get_data(as_text=True)
    assert "X町内会" in reach and "X2町内会" in reach and "Y町内会" not in reach

    officer_reach = dashboard_client(world.officer_x).get("/dashboard/associations.csv")
    text = officer_reach.get_data(as_text=True)
    assert "X町内会" in text and "X2町内会" not in text and "Y町内会" not in text

    city = dashboard_client(world.admin).get("/dashboard/associations").get_data(as_text=True)
    assert "A校区" in city and "B校区" in city


def test_an_officer_cannot_name_residents_of_another_association_through_a_shared_circular(
    world: World, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    # A circular for the whole district A reaches X and X2; X's officer sees X's names only.
    circular = world.circular_x
    circular.targets.append(CircularTarget(association_id=world.x2.id))
    session.commit()
    client = dashboard_client(world.officer_x)
    url = f"/dashboard/circulars/{circular.id}/not-confirmed?association={world.x2.id}"
    assert client.get(url).status_code == 404
    page = client.get(f"/dashboard/circulars/{circular.id}/not-confirmed").get_data(as_text=True)
    assert "X町内会住民" in page


def test_a_removed_role_stops_working_at_the_next_request(
    world: World, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(world.officer_x)
    assert client.get("/dashboard/").status_code == 200
    for role in session.scalars(
        select(StaffRole).where(StaffRole.staff_member_id == world.officer_x.id)
    ):
        session.delete(role)
    session.commit()
    assert client.get("/dashboard/").status_code == 403
    # The session is gone too: the next request is simply not logged in.
    assert client.get("/dashboard/").status_code == 302


def test_a_session_expires_eight_hours_after_login(
    world: World, app: Flask, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(world.admin)
    lifetime = app.permanent_session_lifetime
    assert lifetime == timedelta(hours=8)
    assert client.get("/dashboard/").status_code == 200
    # Eight hours and a second later, however active the session was meanwhile.
    started = session.scalars(select(DashboardSession)).one()
    assert started.expires_at - started.created_at == lifetime
    started.created_at -= lifetime + timedelta(seconds=1)
    started.expires_at -= lifetime + timedelta(seconds=1)
    session.commit()
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard/login")


# --- login links ---------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_a_login_link_works_once_and_sets_a_hardened_cookie(
    world: World, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    issued = logins.issue(session, SystemClock(), world.officer_x)
    session.commit()
    stored = session.scalars(select(LoginLink)).one()
    assert stored.token_hash == logins.token_hash(issued.token)
    assert issued.token not in stored.token_hash

    client = dashboard_client()
    url = f"/dashboard/login/{issued.token}"
    form = client.get(url)
    assert form.status_code == 200
    token = _csrf(form.get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie
    assert client.get("/dashboard/").status_code == 200

    again = dashboard_client()
    token = _csrf(again.get(url).get_data(as_text=True))
    assert again.post(url, data={"csrf_token": token}).status_code == 400
    assert again.get("/dashboard/").status_code == 302

    # Logging out needs the form's token too, and ends the session.
    assert client.post("/dashboard/logout").status_code == 400
    token = _csrf(client.get("/dashboard/").get_data(as_text=True))
    assert client.post("/dashboard/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_login_links_expire_after_ten_minutes(
    world: World, session: Session, clock: FakeClock
) -> None:
    late = logins.issue(session, clock, world.admin)
    on_time = logins.issue(session, clock, world.admin)
    clock.advance(minutes=9, seconds=59)
    assert logins.redeem(session, clock, on_time.token) == world.admin.id
    assert logins.redeem(session, clock, on_time.token) is None
    clock.advance(seconds=1)
    assert logins.redeem(session, clock, late.token) is None
    assert logins.redeem(session, clock, "not-a-token") is None
    assert logins.redeem(session, clock, "x" * 1000) is None


def test_forms_without_a_csrf_token_are_refused(
    world: World, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    issued = logins.issue(session, SystemClock(), world.admin)
    client = dashboard_client(world.admin)
    assert client.post(f"/dashboard/login/{issued.token}").status_code == 400
    assert client.post("/dashboard/staff/invite", data={"role": "admin"}).status_code == 400
    association = world.x.id
    refused = client.post(
        f"/dashboard/associations/{association}/paper",
        data={"paper_households": "3", "csrf_token": "forged"},
    )
    assert refused.status_code == 400
    session.expire_all()
    assert session.get_one(Association, association).paper_household_count == 0
    role = session.scalars(select(StaffRole)).first()
    assert role is not None
    assert client.post(f"/dashboard/staff/roles/{role.id}/remove").status_code == 400
    # The link was not spent by the refused POST.
    assert logins.redeem(session, SystemClock(), issued.token) == world.admin.id


def test_staff_page_invites_removes_roles_and_audits(
    world: World, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(world.admin)
    page = client.get("/dashboard/staff").get_data(as_text=True)
    token = _csrf(page)
    invited = client.post(
        "/dashboard/staff/invite",
        data={"csrf_token": token, "role": "officer", "association_code": world.x.code},
    )
    assert invited.status_code == 200
    assert re.search(r"KAIRAN-[0-9A-Z]{4}-", invited.get_data(as_text=True))
    role = session.scalars(
        select(StaffRole).where(StaffRole.staff_member_id == world.officer_y.id)
    ).one()
    removed = client.post(f"/dashboard/staff/roles/{role.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    session.expire_all()
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["role.invited", "role.removed"]
    audit_page = client.get("/dashboard/audit").get_data(as_text=True)
    assert "役割を外す" in audit_page and "招待コードを作成" in audit_page


def test_the_citys_last_admin_role_cannot_be_removed(
    world: World,
    session: Session,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
) -> None:
    """The staff page lists the admin's own role with a 「外す」 button: pressed when no one else
    is an admin, nobody could appoint staff or see the city any more (only the server's CLI
    could). Refused, in Japanese; with a second admin it may go."""
    client = dashboard_client(world.admin)
    token = _csrf(client.get("/dashboard/staff").get_data(as_text=True))
    own = session.scalars(select(StaffRole.id).where(StaffRole.role == Role.admin)).one()
    refused = client.post(
        f"/dashboard/staff/roles/{own}/remove",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert refused.status_code == 200
    assert "最後の管理者" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(StaffRole, own) is not None
    assert client.get("/dashboard/staff").status_code == 200

    make_staff(Role.admin)
    session.commit()
    removed = client.post(f"/dashboard/staff/roles/{own}/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    session.expire_all()
    assert session.get(StaffRole, own) is None


def test_officer_records_paper_households_for_their_association_only(
    world: World, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(world.officer_x)
    token = _csrf(client.get("/dashboard/associations").get_data(as_text=True))
    saved = client.post(
        f"/dashboard/associations/{world.x.id}/paper",
        data={"csrf_token": token, "paper_households": "30"},
    )
    assert saved.status_code == 302
    other = client.post(
        f"/dashboard/associations/{world.y.id}/paper",
        data={"csrf_token": token, "paper_households": "30"},
    )
    assert other.status_code == 404
    too_many = client.post(
        f"/dashboard/associations/{world.x.id}/paper",
        data={"csrf_token": token, "paper_households": "101"},
    )
    assert too_many.status_code == 302
    session.expire_all()
    assert session.get_one(Association, world.x.id).paper_household_count == 30
    assert session.get_one(Association, world.y.id).paper_household_count == 0


def test_english_is_available(world: World, dashboard_client: Callable[..., Any]) -> None:
    client = dashboard_client(world.admin)
    assert "回覧" in client.get("/dashboard/").get_data(as_text=True)
    client.get("/dashboard/language/en?next=/dashboard/")
    english = client.get("/dashboard/").get_data(as_text=True)
    assert "Circulars" in english and "Log out" in english
    assert client.get("/dashboard/language/en?next=//evil.test").headers["Location"] == (
        "/dashboard/"
    )
