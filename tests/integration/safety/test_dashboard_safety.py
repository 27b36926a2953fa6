"""The 安否確認 pages: who may start one, the board inside each viewer's scope, names only for
an association's officers, and refusals that keep nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadcasts.delivery.worker import Worker
from broadcasts.residents import acknowledgements
from broadcasts.safety import checks
from models import Association, Circular, District, Resident, Role, StaffMember
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock


@dataclass
class Town:
    district: District
    x: Association
    y: Association
    promoter: StaffMember
    officer_x: StaffMember
    officer_y: StaffMember
    x_users: list[str]


@pytest.fixture
def town(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_line_residents: Callable[..., list[str]],
) -> Town:
    district = make_district(name="東校区")
    x = make_association(district=district, name="X町内会", groups=("1班", "2班"))
    y = make_association(name="Y町内会")
    x_users = make_line_residents(3, x, x.groups[0]) + make_line_residents(2, x, x.groups[1])
    for n, user in enumerate(x_users):
        session.execute(
            update(Resident).where(Resident.line_user_id == user).values(display_name=f"住民{n}")
        )
    make_line_residents(2, y)
    town = Town(
        district,
        x,
        y,
        make_staff(Role.promoter, district_id=district.id),
        make_staff(Role.officer, association_id=x.id),
        make_staff(Role.officer, association_id=y.id),
        x_users,
    )
    session.commit()
    return town


def _start(client: Any, area: str, **kwargs: Any) -> Any:
    """POST the start form with the CSRF token of a freshly loaded list page."""
    page = client.get("/dashboard/safety").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return client.post("/dashboard/safety", data={"csrf_token": match[1], "area": area}, **kwargs)


def _checks(session: Session) -> int:
    session.expire_all()
    return int(
        session.scalar(
            select(func.count()).select_from(Circular).where(Circular.safety_check.is_(True))
        )
        or 0
    )


def test_a_promoter_starts_a_check_and_officers_see_names_of_their_own_association(
    town: Town,
    session: Session,
    clock: FakeClock,
    dashboard_client: Callable[..., Any],
    sim: SimulatorClient,
    worker: Worker,
) -> None:
    client = dashboard_client(town.promoter)
    page = client.get("/dashboard/safety").get_data(as_text=True)
    assert f'value="d:{town.district.id}"' in page and f'value="a:{town.x.id}"' in page
    assert f'value="a:{town.y.id}"' not in page, "only the promoter's own areas"
    sent = _start(client, f"d:{town.district.id}")
    assert sent.status_code == 302
    circular = session.scalars(select(Circular).where(Circular.safety_check.is_(True))).one()
    assert sent.headers["Location"] == f"/dashboard/safety/{circular.id}"
    worker.drain()
    help_user, safe_user = town.x_users[0], town.x_users[4]
    for user, position in ((help_user, checks.HELP_POSITION), (safe_user, checks.SAFE_POSITION)):
        resident = session.scalars(select(Resident).where(Resident.line_user_id == user)).one()
        acknowledgements.answer(session, clock, resident, circular.id, position)
    session.commit()

    listed = client.get("/dashboard/safety").get_data(as_text=True)
    assert f'href="/dashboard/safety/{circular.id}">安否確認 東校区</a>' in listed
    stats = client.get(f"/dashboard/circulars/{circular.id}").get_data(as_text=True)
    assert "安否確認のお知らせ（1回目）" in stats and "安否確認のお知らせ（6回目）" in stats
    board = client.get(f"/dashboard/safety/{circular.id}").get_data(as_text=True)
    assert 'data-stat="help">1<' in board and 'data-stat="waiting">3<' in board
    assert 'class="names"' not in board, "a promoter sees no names"

    officer = dashboard_client(town.officer_x)
    board = officer.get(f"/dashboard/safety/{circular.id}/board").get_data(as_text=True)
    assert 'id="needing-help"' in board
    assert "住民0" in board and "住民1" in board
    assert board.index("住民0") < board.index("住民1"), "who needs help comes first"
    assert board.index("住民1") < board.index("住民4"), "then who has not answered"
    assert _start(officer, f"a:{town.x.id}").status_code == 403
    assert officer.post("/dashboard/safety", data={"area": f"a:{town.x.id}"}).status_code == 400
    # Another association's officer: the check did not reach them.
    assert dashboard_client(town.officer_y).get(f"/dashboard/safety/{circular.id}").status_code == (
        404
    )


def test_refused_starts_keep_nothing(
    town: Town, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(town.promoter)
    for area in ("x:1", "", f"a:{town.y.id}", "d:999999"):
        response = _start(client, area, follow_redirects=True)
        assert response.status_code == 200
        assert 'class="flash error"' in response.get_data(as_text=True), area
    assert _checks(session) == 0


def test_an_ordinary_circular_has_no_safety_board(
    town: Town,
    session: Session,
    dashboard_client: Callable[..., Any],
    make_circular: Callable[..., Circular],
) -> None:
    circular = make_circular(author=town.promoter)
    session.commit()
    client = dashboard_client(town.promoter)
    assert client.get(f"/dashboard/safety/{circular.id}").status_code == 404
    assert client.get(f"/dashboard/safety/{circular.id}/board").status_code == 404
