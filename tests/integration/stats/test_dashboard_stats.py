"""The statistics the dashboard shows, checked against the rows behind them; CSV exports;
LINE's unit statistics beside Kairan's own."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery import steps
from broadcasts.delivery.worker import Worker
from broadcasts.staff.scope import Scope
from broadcasts.stats.by_area import breakdown
from broadcasts.stats.circular_counts import Counts, summary
from broadcasts.stats.digital_reach import reach_by_association, reach_by_district
from broadcasts.stats.responses import (
    answer_tallies,
    confirmations_over_time,
    failures,
    not_confirmed,
)
from models import (
    Association,
    AuditEntry,
    Circular,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    District,
    FollowStatus,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.stats import Sent


def test_city_counts_and_rates(session: Session, sent: Sent) -> None:
    city = Scope(sent.admin.id, city=True)
    counts = summary(session, sent.circular.id, city)
    assert counts == Counts(
        recipients=13, delivered=11, pending=0, failed=1, skipped=1, opened=3, confirmed=6,
        answered=5,
    )  # fmt: skip
    assert counts.confirmed_rate == pytest.approx(6 / 11)
    assert counts.finished == 13


def test_breakdown_is_district_association_group_with_subtotals(
    session: Session, sent: Sent
) -> None:
    rows = breakdown(session, sent.circular.id, Scope(sent.admin.id, city=True))
    shown = [(r.level, r.name, r.counts.delivered, r.counts.confirmed) for r in rows]
    assert shown == [
        ("district", "A校区", 8, 3),
        ("association", "X町内会", 6, 3),
        ("group", "1班", 4, 2),
        ("group", "2班", 2, 1),
        ("association", "X2町内会", 2, 0),
        ("district", "B校区", 3, 3),
        ("association", "Y町内会", 3, 3),
    ]


def test_an_officer_counts_only_their_association(session: Session, sent: Sent) -> None:
    scope = Scope.of(sent.officer_x.id, sent.officer_x.roles)
    counts = summary(session, sent.circular.id, scope)
    assert (counts.delivered, counts.opened, counts.confirmed, counts.answered) == (6, 3, 3, 2)
    assert [t.count for t in answer_tallies(session, sent.circular.id, scope)] == [1, 1]
    assert [r.name for r in breakdown(session, sent.circular.id, scope)] == [
        "A校区",
        "X町内会",
        "1班",
        "2班",
    ]
    missing = not_confirmed(session, sent.circular.id, sent.x.id)
    assert [(m.group_name, m.name, m.opened) for m in missing] == [
        ("1班", "一班2", True),
        ("1班", "一班3", False),
        ("2班", "二班1", False),
    ]


def test_a_resident_who_moved_stays_on_the_list_the_circular_went_round(
    session: Session, sent: Sent
) -> None:
    moved = session.scalars(select(Resident).where(Resident.display_name == "二班1")).one()
    moved.association, moved.group = sent.y, None
    session.commit()
    missing = not_confirmed(session, sent.circular.id, sent.x.id)
    assert [(m.group_name, m.name) for m in missing] == [
        ("1班", "一班2"),
        ("1班", "一班3"),
        ("2班", "二班1"),
    ]
    assert not_confirmed(session, sent.circular.id, sent.y.id) == []


def test_confirmations_over_time_answers_and_failures(session: Session, sent: Sent) -> None:
    city = Scope(sent.admin.id, city=True)
    points = confirmations_over_time(session, sent.circular.id, city)
    start = sent.circular.released_at
    assert start is not None
    assert [(p - start, n) for p, n in points] == [
        (timedelta(0), 1),
        (timedelta(hours=1), 3),
        (timedelta(hours=2), 6),
    ]
    assert [(t.label, t.count) for t in answer_tallies(session, sent.circular.id, city)] == [
        ("出席", 4),
        ("欠席", 1),
    ]
    assert failures(session, sent.circular.id, city) == [
        ("failed", "Invalid request", 1),
        ("skipped", "", 1),
    ]


def test_reach_per_association_and_district(
    session: Session, sent: Sent, make_resident: Callable[..., Resident]
) -> None:
    # Registered, following residents count; blocked or unregistered ones do not.
    for association in (sent.x, sent.x, sent.y):
        r = make_resident(association=association)
        r.registered_at = sent.circular.created_at
    blocked = make_resident(association=sent.y, follow_status=FollowStatus.blocked)
    blocked.registered_at = sent.circular.created_at
    sent.x.paper_household_count = 50
    session.commit()
    city = Scope(sent.admin.id, city=True)
    by_association = {r.name: r for r in reach_by_association(session, city)}
    assert by_association["X町内会"].registered == 2
    assert by_association["X町内会"].reach == pytest.approx(0.52)
    assert by_association["X町内会"].digital_share == pytest.approx(0.02)
    assert by_association["Y町内会"].registered == 1
    districts = reach_by_district(session, city)
    assert [d.name for d in districts] == ["A校区", "B校区"]
    assert districts[0].households == 200 and districts[0].paper == 50


def test_stats_page_shows_the_numbers(sent: Sent, dashboard_client: Callable[..., Any]) -> None:
    page = dashboard_client(sent.officer_x).get(f"/dashboard/circulars/{sent.circular.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-stat="delivered">6<' in html
    assert 'data-stat="confirmed">3<' in html
    assert "50.0%" in html  # confirmed 3 of 6 delivered
    assert "Y町内会" not in html
    assert "<svg" in html and "polyline" in html
    assert "not-confirmed" in html


def test_stats_csv_has_a_bom_and_is_scoped_and_audited(
    session: Session, sent: Sent, dashboard_client: Callable[..., Any]
) -> None:
    response = dashboard_client(sent.officer_x).get(
        f"/dashboard/circulars/{sent.circular.id}/stats.csv"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["区分", "校区", "自治会", "班", "配信対象"]
    assert rows[1][0] == "合計" and rows[1][5] == "6" and rows[1][7] == "3"
    assert not any("Y町内会" in cell for row in rows for cell in row)
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.actor_id, entry.subject_id) == (
        "export.circular",
        sent.officer_x.id,
        sent.circular.id,
    )

    answers = dashboard_client(sent.admin).get(
        f"/dashboard/circulars/{sent.circular.id}/answers.csv"
    )
    lines = answers.get_data().decode("utf-8-sig").splitlines()
    assert lines[1].startswith("1,出席,4,") and lines[2].startswith("2,欠席,1,")


def test_progress_json(sent: Sent, dashboard_client: Callable[..., Any]) -> None:
    data = dashboard_client(sent.admin).get(f"/dashboard/circulars/{sent.circular.id}/progress")
    assert data.json == {
        "status": "sent",
        "recipients": 13,
        "delivered": 11,
        "finished": 13,
        "failed": 1,
        "confirmed": 6,
    }


def test_line_statistics_beside_kairans_with_the_privacy_threshold(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    dashboard_client: Callable[..., Any],
) -> None:
    association = make_association()
    users = make_line_residents(25, association)
    admin = make_staff(Role.admin)
    circular = make_circular(author=admin)
    circular.targets.append(CircularTarget(association_id=association.id))
    session.flush()
    assert release(session, clock, circular, None).released
    session.commit()
    worker.drain()
    client = dashboard_client(admin)
    url = f"/dashboard/circulars/{circular.id}"

    # Nobody has opened the chat yet: LINE answers null, "under 20".
    html = client.get(url).get_data(as_text=True)
    assert 'id="line-stats"' in html and "20人未満のため非表示" in html

    for user in users[:22]:
        sim.read(user)
    html = client.get(url).get_data(as_text=True)
    assert "<td>22</td>" in html

    sim.set_faults(error500=1.0, paths=["/v2/bot/insight/"])
    html = client.get(url).get_data(as_text=True)
    assert "LINE の統計は取得できません" in html
    sim.clear_faults()
    assert session.scalar(select(Delivery.id).where(Delivery.status != DeliveryStatus.sent)) is None


def test_a_city_page_lists_associations_and_opens_one_for_its_groups(
    session: Session,
    clock: FakeClock,
    sent: Sent,
    dashboard_client: Callable[..., Any],
    make_association: Callable[..., Association],
) -> None:
    """A city-wide page would list every 班 of the city: it lists districts and associations,
    and one association's 班 (its breakdown and coverage) when that association is opened.
    An association the circular reaches only on paper can be opened too."""
    from broadcasts.households import paper

    district = session.get_one(District, sent.x.district_id)
    on_paper = make_association(district=district, name="Z町内会", kana="く", groups=("1班",))
    paper.set_group(session, clock, on_paper.groups[0], 2)
    client = dashboard_client(sent.admin)
    url = f"/dashboard/circulars/{sent.circular.id}"

    html = client.get(url).get_data(as_text=True)
    assert 'class="level-group"' not in html
    assert 'id="coverage"' not in html
    assert f'data-open-association="{sent.x.id}"' in html
    assert f'data-open-association="{on_paper.id}">Z町内会<' in html

    html = client.get(f"{url}?association={sent.x.id}").get_data(as_text=True)
    assert html.count('class="level-group"') == 2
    assert html.count("data-coverage=") == 2
    assert f'data-open-association="{sent.x.id}"' not in html

    html = client.get(f"{url}?association={on_paper.id}").get_data(as_text=True)
    assert f'data-coverage="{on_paper.groups[0].id}">0 / 2 (0.0%)' in html

    # The officer of X sees one association: its 班 at once, as before.
    html = dashboard_client(sent.officer_x).get(url).get_data(as_text=True)
    assert html.count('class="level-group"') == 2


def test_the_breakdown_counts_a_resident_where_the_circular_was_sent(
    session: Session, sent: Sent, make_resident: Callable[..., Resident]
) -> None:
    """Moving after the circular was sent does not move its figures: the delivery recorded the
    area (the breakdown used to follow the resident's current registration)."""
    city = Scope(sent.admin.id, city=True)
    before = {(r.level, r.name): r.counts for r in breakdown(session, sent.circular.id, city)}
    for resident in session.scalars(select(Resident).where(Resident.association_id == sent.x.id)):
        resident.association_id = sent.y.id
        resident.group_id = None
    session.commit()
    after = {(r.level, r.name): r.counts for r in breakdown(session, sent.circular.id, city)}
    assert after == before
    officer = Scope(sent.officer_x.id, association_ids=frozenset({sent.x.id}))
    assert summary(session, sent.circular.id, officer).delivered == 6


def test_a_delivery_skipped_because_its_resident_blocked_is_shown_in_the_sites_words(
    session: Session, sent: Sent, dashboard_client: Callable[..., Any]
) -> None:
    skipped = session.scalars(
        select(Delivery).where(
            Delivery.circular_id == sent.circular.id, Delivery.status == DeliveryStatus.skipped
        )
    ).one()
    skipped.failure_reason = steps.BLOCKED  # as the engine records it
    session.commit()
    page = dashboard_client(sent.admin).get(f"/dashboard/circulars/{sent.circular.id}")
    html = page.get_data(as_text=True)
    failures = html[html.index('id="failures"') :]
    failures = failures[: failures.index("</table>")]
    assert "送信前にブロック" in failures
    assert steps.BLOCKED not in failures  # the engine's code, not words for people
