"""The month's message budget before sending (issue #20, item 7): a circular's whole life in the
preview, on the dashboard and in LINE, flagged when its reminders would overrun the month; and the
month's messages per district."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars import budget
from broadcasts.circulars.release import release
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.worker import Worker
from broadcasts.schedule.rules import QuietHours
from linebot_app.chat import compose_prompts
from linebot_app.chat.context import Edge
from linebot_app.chat.replies import gettext_in
from models import (
    MAX_ID,
    Acknowledgement,
    Association,
    Channel,
    Circular,
    CircularStatus,
    CircularTarget,
    ComposeSession,
    ComposeStep,
    District,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock

QUIET = QuietHours.parse("21:00-08:00")


def tokyo(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=TOKYO)


@pytest.fixture
def area(
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> Association:
    clock.moment = tokyo(2, 10)
    association = make_association(district=make_district(name="東校区"), name="梅町内会")
    make_line_residents(5, association)
    return association


def quota_left(sim: SimulatorClient, left: int) -> None:
    sim.set_quota(limit=sim.quota()["used"] + left)


def test_committed_counts_what_is_sending_scheduled_and_still_to_remind(
    session: Session,
    clock: FakeClock,
    area: Association,
    make_circular: Callable[..., Circular],
) -> None:
    def to_area(**fields: Any) -> Circular:
        return make_circular(targets=[CircularTarget(association=area)], **fields)

    assert budget.committed(session, clock.now(), QUIET) == 0
    sending = to_area(reminder_hours=[24])
    assert release(session, clock, sending, None).released
    # Its card (5, not yet sent) and its reminder to at most the same 5.
    assert budget.committed(session, clock.now(), QUIET) == 10
    # Scheduled this month: card and two reminders; scheduled next month: nothing this month.
    to_area(status=CircularStatus.scheduled, scheduled_at=tokyo(10, 10))
    to_area(status=CircularStatus.scheduled, scheduled_at=datetime(2027, 1, 4, 10, tzinfo=TOKYO))
    # Released on the 30th: its second reminder falls in January.
    to_area(status=CircularStatus.scheduled, scheduled_at=tokyo(30, 10))
    assert budget.committed(session, clock.now(), QUIET) == 10 + 15 + 10
    draft = to_area()
    shown = budget.of_circular(session, clock.now(), QUIET, draft, 45)
    assert (shown.this_month, shown.committed, shown.available) == (15, 35, 10)
    assert shown.overruns


def test_reminders_of_a_sent_card_count_those_who_have_not_confirmed(
    session: Session,
    clock: FakeClock,
    area: Association,
    worker: Worker,
    make_circular: Callable[..., Circular],
) -> None:
    sent = make_circular(targets=[CircularTarget(association=area)], reminder_hours=[24, 72])
    assert release(session, clock, sent, None).released
    session.commit()
    worker.drain()
    assert budget.committed(session, clock.now(), QUIET) == 10
    # A resident who confirmed needs neither reminder.
    resident = session.scalars(select(Resident).where(Resident.association_id == area.id)).first()
    assert resident is not None
    session.add(
        Acknowledgement(
            circular_id=sent.id,
            resident_id=resident.id,
            channel=Channel.line,
            confirmed_at=clock.now(),
        )
    )
    session.commit()
    assert budget.committed(session, clock.now(), QUIET) == 8


def preview_page(client: Any, circular: Circular) -> str:
    response = client.get(f"/dashboard/compose/{circular.id}/preview")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_the_dashboard_preview_flags_reminders_that_would_overrun_the_month(
    session: Session,
    sim: SimulatorClient,
    area: Association,
    make_circular: Callable[..., Circular],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    author = make_staff(Role.promoter, district_id=area.district_id)
    circular = make_circular(author=author, targets=[CircularTarget(association=area)])
    session.commit()
    client = dashboard_client(author)
    quota_left(sim, 12)  # the card (5) fits; with its two reminders (15) it does not
    page = preview_page(client, circular)
    assert 'id="budget-total">15<' in page and 'id="budget-month">15<' in page
    assert 'id="budget-committed">0<' in page
    assert 'id="budget-overrun"' in page and "催促やお知らせまで含めると" in page
    assert "今月分 15 通、使える残り 12 通" in page
    buttons = re.findall(r'<button[^>]*id="send[^"]*"[^>]*>', page)
    assert buttons and all("disabled" not in b for b in buttons), "flagged, not refused"
    quota_left(sim, 100)
    assert 'id="budget-overrun"' not in preview_page(client, circular)
    english = client.get("/dashboard/language/en?next=/dashboard/").status_code
    assert english in (302, 303)
    quota_left(sim, 12)
    assert "messages are not enough" in preview_page(client, circular)


def test_the_line_preview_flags_reminders_that_would_overrun_the_month(
    session: Session,
    clock: FakeClock,
    area: Association,
    make_circular: Callable[..., Circular],
    make_staff: Callable[..., StaffMember],
    tmp_path: Path,
) -> None:
    author = make_staff(Role.promoter, district_id=area.district_id)
    circular = make_circular(author=author, targets=[CircularTarget(association=area)])
    state = ComposeSession(staff_member=author, circular=circular, step=ComposeStep.preview)
    session.add(state)
    session.flush()

    def summary(remaining: int | None) -> str:
        edge = Edge(
            "https://kairan.test", tmp_path, QUIET, quota_known=True, remaining_quota=remaining
        )
        messages = compose_prompts.preview(session, clock, author, state, edge, gettext_in("ja"))
        return str(messages[0].text)

    short = summary(12)
    assert "催促・お知らせを含めて：多くて15通（うち今月15通）" in short
    assert "今月すでに予定の分：0通" in short
    assert "注意：催促やお知らせまで含めると" in short
    assert "注意" not in summary(100)
    assert "今月すでに予定" not in summary(None)


# --- the month's messages per district -----------------------------------------------------------


@pytest.fixture
def two_districts(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> tuple[District, District]:
    clock.moment = tokyo(2, 10)
    east, west = make_district(name="東校区"), make_district(name="西校区")
    for district, count in ((east, 3), (west, 2)):
        association = make_association(district=district, name=f"{district.name}町内会")
        make_line_residents(count, association)
        circular = make_circular(targets=[CircularTarget(association=association)])
        assert release(session, clock, circular, None).released
    session.commit()
    worker.drain()
    return east, west


def test_the_month_page_counts_each_districts_messages_within_scope(
    two_districts: tuple[District, District],
    sim: SimulatorClient,
    make_staff: Callable[..., StaffMember],
    make_association: Callable[..., Association],
    dashboard_client: Callable[..., Any],
) -> None:
    east, _west = two_districts
    sim.set_quota(limit=200)
    admin = dashboard_client(make_staff(Role.admin)).get("/dashboard/messages")
    assert admin.status_code == 200
    page = admin.get_data(as_text=True)
    assert 'id="used">5<' in page and "東校区" in page and "西校区" in page
    assert 'id="remaining">' in page and ">195<" in page
    promoter = make_staff(Role.promoter, district_id=east.id)
    own = dashboard_client(promoter).get("/dashboard/messages").get_data(as_text=True)
    assert 'id="used">3<' in own and "東校区" in own and "西校区" not in own
    beyond = dashboard_client(promoter).get("/dashboard/messages?page=2")
    assert beyond.status_code == 200 and "東校区" not in beyond.get_data(as_text=True)
    # A page number beyond the columns is nonsense, read as the first page, never a 500.
    assert (
        dashboard_client(promoter).get(f"/dashboard/messages?page={MAX_ID + 1}").status_code == 200
    )


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", 200), ("promoter", 200), ("officer", 404), ("group_leader", 404), (None, 302)],
)
def test_who_may_open_the_month_page(
    role: str | None,
    expected: int,
    two_districts: tuple[District, District],
    session: Session,
    make_staff: Callable[..., StaffMember],
    make_association: Callable[..., Association],
    dashboard_client: Callable[..., Any],
) -> None:
    east, _west = two_districts
    association = make_association(district=east, name="桜町内会", groups=("1班",))
    scopes: dict[str, dict[str, int]] = {
        "admin": {},
        "promoter": {"district_id": east.id},
        "officer": {"association_id": association.id},
        "group_leader": {"group_id": association.groups[0].id},
    }
    member = None if role is None else make_staff(Role(role), **scopes[role])
    response = dashboard_client(member).get("/dashboard/messages")
    assert response.status_code == expected
    page = response.get_data(as_text=True)
    if expected == 404:
        assert "東校区" not in page
