"""Rolling out: districts preparing or active (dashboard, import, migration), welcomes that
survive a lost answer, join codes kept to their scope, and the adoption curve."""

from __future__ import annotations

import random as random_module
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadcasts.residents import join_codes
from broadcasts.residents.registration import AskConfirmation
from broadcasts.rollout import activation, adoption, area_file, areas
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from linebot_app.extensions import db, line
from linebot_app.schema import alembic_config, upgrade
from models import (
    Association,
    AuditEntry,
    BatchStatus,
    District,
    DistrictStatus,
    DistrictWelcome,
    JoinCode,
    JoinCodeFailure,
    Resident,
    Role,
    StaffMember,
)
from models.session import tune
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.databases import race
from tests.helpers.settings import SAMPLE_AREAS


def clockwork_of(
    clock: FakeClock, holder: str, random: Callable[[], float] = random_module.random
) -> Clockwork:
    """The clock process's work, quiet from 21:00 to 08:00 Tokyo, on `clock`."""
    return Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(QuietHours.parse("21:00-08:00"), "https://kairan.test/dashboard/"),
        holder=holder,
        random=random,
    )


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


# --- districts preparing or active --------------------------------------------------------------


def test_imported_districts_start_preparing_and_keep_their_status_on_reimport(
    session: Session, clock: FakeClock
) -> None:
    areas.import_areas(session, area_file.parse(SAMPLE_AREAS.read_bytes()))
    districts = session.scalars(select(District)).all()
    assert districts and {d.status for d in districts} == {DistrictStatus.preparing}
    activation.activate(session, clock, None, districts[0])
    areas.import_areas(session, area_file.parse(SAMPLE_AREAS.read_bytes()))
    assert districts[0].status is DistrictStatus.active


def test_districts_existing_before_the_migration_become_active(tmp_path: Path) -> None:
    engine = tune(create_engine(f"sqlite:///{tmp_path / 'live.sqlite3'}"))
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0005")
        connection.execute(
            text(
                "INSERT INTO districts (code, name, kana, created_at, updated_at)"
                " VALUES ('L1', '稼働校区', 'かどうこうく', '2026-01-01', '2026-01-01')"
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM districts")).scalar() == "active"
    engine.dispose()


def test_only_admins_activate_districts_on_the_dashboard_and_it_is_audited(
    session: Session,
    make_district: Callable[..., District],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    district = make_district(status=DistrictStatus.preparing)
    promoter = make_staff(Role.promoter, district=district)
    admin = make_staff(Role.admin)
    url = f"/dashboard/districts/{district.id}/activate"
    assert dashboard_client(promoter).get("/dashboard/districts").status_code == 404
    assert dashboard_client(promoter).post(url).status_code in (400, 404)

    client = dashboard_client(admin)
    page = client.get("/dashboard/districts")
    assert page.status_code == 200 and 'data-status="preparing"' in page.text
    assert client.post(url, data={"csrf_token": csrf(page.text)}).status_code == 302
    session.expire_all()
    assert session.get_one(District, district.id).status is DistrictStatus.active
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "district.activated" in actions


def test_a_welcome_whose_answer_was_lost_is_resent_with_its_key_and_arrives_once(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    district = make_district(status=DistrictStatus.preparing)
    (user,) = make_line_residents(1, make_association(district=district))
    activation.activate(session, clock, None, district)
    session.commit()
    clockwork = clockwork_of(clock, "clock-welcome", random=lambda: 0.5)
    # LINE takes the push, but its answer never arrives: as if the clock died after the call.
    sim.set_faults(acceptThenDrop=1.0, seed=1)
    assert clockwork.tick().welcomes == 0
    sim.clear_faults()
    session.expire_all()
    welcome = session.scalars(select(DistrictWelcome)).one()
    assert welcome.status is BatchStatus.pending and welcome.attempts == 1
    clock.advance(minutes=10)
    assert clockwork.tick().welcomes == 1
    assert len(sim.inbox(user)) == 1
    session.expire_all()
    assert session.scalars(select(DistrictWelcome)).one().status is BatchStatus.accepted


def test_welcomes_wait_for_the_end_of_quiet_hours(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    night = FakeClock(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))  # 23:00 in Tokyo
    district = make_district(status=DistrictStatus.preparing)
    (user,) = make_line_residents(1, make_association(district=district))
    activation.activate(session, night, None, district)
    session.commit()
    clockwork = clockwork_of(night, "clock-night")
    assert clockwork.tick().welcomes == 0 and sim.inbox(user) == []
    night.advance(hours=10)  # 09:00 in Tokyo
    assert clockwork.tick().welcomes == 1


def test_welcomes_not_sent_before_the_district_goes_back_to_preparing_wait_for_its_start(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    district = make_district(status=DistrictStatus.preparing)
    (user,) = make_line_residents(1, make_association(district=district))
    activation.activate(session, clock, None, district)
    activation.prepare(session, clock, None, district)  # started by mistake, undone at once
    session.commit()
    clockwork = clockwork_of(clock, "clock-undone")
    assert clockwork.tick().welcomes == 0 and sim.inbox(user) == []
    activation.activate(session, clock, None, district)
    session.commit()
    assert clockwork.tick().welcomes == 1 and len(sim.inbox(user)) == 1


def test_a_resident_who_left_the_district_before_the_welcome_is_not_welcomed(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    district = make_district(status=DistrictStatus.preparing)
    moved, left, stayed = make_line_residents(3, make_association(district=district))
    activation.activate(session, clock, None, district)
    by_user = {r.line_user_id: r for r in session.scalars(select(Resident))}
    by_user[moved].association = make_association()  # registered elsewhere since
    by_user[left].unregistered_at = clock.now()
    session.commit()
    clockwork = clockwork_of(clock, "clock-moved")
    assert clockwork.tick().welcomes == 1
    assert [len(sim.inbox(user)) for user in (moved, left, stayed)] == [0, 0, 1]
    session.expire_all()
    assert {w.status for w in session.scalars(select(DistrictWelcome))} == {BatchStatus.accepted}


def test_two_admins_activating_at_once_owe_each_resident_one_welcome_and_both_succeed(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
) -> None:
    district = make_district(status=DistrictStatus.preparing)
    make_resident(association=make_association(district=district))
    session.commit()
    district_id = district.id
    # The second activation waits behind the first transaction (a lock in PostgreSQL).
    late = race(
        app,
        lambda other: activation.activate(other, clock, None, other.get_one(District, district_id)),
    )
    assert isinstance(late, activation.Change) and not late.changed, late
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(DistrictWelcome)) == 1


# --- join codes ---------------------------------------------------------------------------------


def test_one_code_is_in_force_per_association_and_per_group(
    session: Session, clock: FakeClock, make_association: Callable[..., Association]
) -> None:
    town = make_association(groups=("1班",))
    join_codes.rotate(session, clock, None, town)
    join_codes.rotate(session, clock, None, town, town.groups[0])
    session.commit()
    for group_id in (None, town.groups[0].id):
        session.add(JoinCode(code=join_codes.new_code(), association=town, group_id=group_id))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_two_rotations_at_once_leave_one_code_in_force(
    app: Flask, session: Session, clock: FakeClock, make_association: Callable[..., Association]
) -> None:
    association_id = make_association().id
    session.commit()
    late = race(
        app,
        lambda other: (
            join_codes.rotate(other, clock, None, other.get_one(Association, association_id)).code
        ),
    )
    assert isinstance(late, str), late
    session.expire_all()
    in_force = session.scalars(
        select(JoinCode.code).where(
            JoinCode.association_id == association_id, JoinCode.revoked_at.is_(None)
        )
    ).all()
    assert in_force == [late]


def test_wrong_join_codes_lock_a_resident_out_of_codes_for_a_day(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
) -> None:
    town = make_association()
    right = join_codes.rotate(session, clock, None, town).code
    guesser = make_resident(association=None, registered_at=None).line_user_id
    wrong = next(code for code in ("22222222", "33333333") if code != right)
    outcomes = [
        join_codes.redeem(session, clock, guesser, wrong) for _ in range(join_codes.MAX_FAILURES)
    ]
    assert outcomes[:-1] == [join_codes.UnknownCode(locked=False)] * (join_codes.MAX_FAILURES - 1)
    assert outcomes[-1] == join_codes.UnknownCode(locked=True)
    # Locked: even the right code is refused, until the day is over.
    assert join_codes.redeem(session, clock, guesser, right) == join_codes.UnknownCode(locked=True)
    clock.advance(days=1, minutes=1)
    assert isinstance(join_codes.redeem(session, clock, guesser, right), AskConfirmation)


def test_the_clock_forgets_wrong_join_codes_once_their_day_is_over(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    (user,) = make_line_residents(1, make_association())
    now = clock.now()
    for hours in (30, 2):
        session.add(
            JoinCodeFailure(
                line_user_hash=join_codes.user_hash(user), attempted_at=now - timedelta(hours=hours)
            )
        )
    session.commit()
    clockwork = clockwork_of(clock, "clock-sweep")
    clockwork.housekeeping()
    session.expire_all()
    kept = session.scalars(select(JoinCodeFailure.attempted_at)).all()
    assert kept == [now - timedelta(hours=2)]


def test_join_codes_and_flyers_stay_inside_the_viewers_scope(
    session: Session,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    mine = make_association()
    theirs = make_association()
    officer = make_staff(Role.officer, association=mine)
    client = dashboard_client(officer)
    assert client.get(f"/dashboard/associations/{theirs.id}/join").status_code == 404
    assert client.get(f"/dashboard/associations/{theirs.id}/flyer.pdf").status_code == 404
    # No code yet: no flyer to print.
    assert client.get(f"/dashboard/associations/{mine.id}/flyer.pdf").status_code == 404


def test_no_flyer_is_printed_without_the_bot_s_add_friend_link(
    app: Flask,
    session: Session,
    clock: FakeClock,
    monkeypatch: Any,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    town = make_association()
    join_codes.rotate(session, clock, None, town)
    client = dashboard_client(make_staff(Role.officer, association=town))
    assert client.get(f"/dashboard/associations/{town.id}/flyer.pdf").status_code == 200
    configured = app.config["KAIRAN_SETTINGS"]
    unset = configured.model_copy(update={"KAIRAN_ADD_FRIEND_URL": None})
    monkeypatch.setitem(app.config, "KAIRAN_SETTINGS", unset)
    refused = client.get(f"/dashboard/associations/{town.id}/flyer.pdf")
    assert refused.status_code == 503 and "KAIRAN_ADD_FRIEND_URL" in refused.text


# --- the adoption curve -------------------------------------------------------------------------


def test_the_adoption_curve_counts_registered_households_week_by_week(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    now = clock.now()
    a = make_district(name="伸びる校区")
    b = make_district(name="減る校区")
    in_a = make_association(district=a, household_count=10)
    in_b = make_association(district=b, household_count=20)
    make_association(district=make_district(name="世帯なし校区"), household_count=0)
    for registered in [now - timedelta(weeks=10, hours=1)] * 2 + [now - timedelta(days=3)] * 4:
        make_resident(association=in_a, registered_at=registered)
    make_resident(association=in_b, registered_at=now - timedelta(weeks=12))
    make_resident(
        association=in_b,
        registered_at=now - timedelta(weeks=12),
        unregistered_at=now - timedelta(weeks=5),
    )
    make_resident(association=in_b, registered_at=None)  # chose nothing yet: not registered

    curve = adoption.curve(session, Scope(0, city=True), now)
    assert len(curve.weeks) == adoption.WEEKS and curve.weeks[-1].isoformat() == "2026-12-01"
    by_name = {row.name: row for row in curve.districts}
    assert by_name["伸びる校区"].registered == (0,) + (2,) * 10 + (6,)
    assert by_name["減る校区"].registered == (2,) * 6 + (1,) * 6
    assert curve.total.households == 30 and curve.total.registered[-1] == 7
    assert [r.name for r in curve.fastest] == ["伸びる校区"]
    assert [r.name for r in curve.slowest] == ["減る校区"]

    promoter_scope = Scope(0, district_ids=frozenset({a.id}))
    assert [r.name for r in adoption.curve(session, promoter_scope, now).districts] == [
        "伸びる校区"
    ]

    promoter = make_staff(Role.promoter, district=a)
    client = dashboard_client(promoter)
    page = client.get("/dashboard/adoption")
    assert page.status_code == 200 and "<polyline" in page.text and "減る校区" not in page.text
    exported = client.get("/dashboard/adoption.csv")
    body = exported.get_data()
    assert body.startswith("\ufeff".encode())
    csv_text = body.decode("utf-8-sig")
    assert "伸びる校区" in csv_text and "減る校区" not in csv_text
    session.expire_all()
    assert "export.adoption" in session.scalars(select(AuditEntry.action)).all()


def test_a_group_leader_neither_sees_nor_rotates_the_association_s_join_codes(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    town = make_association(groups=("1班", "2班"))
    first, second = town.groups
    before = {
        area: join_codes.rotate(session, clock, None, town, area).code for area in (None, second)
    }
    leader = make_staff(Role.group_leader, group_id=first.id)
    client = dashboard_client(leader)
    page = client.get(f"/dashboard/associations/{town.id}/join")
    assert page.status_code == 404
    token = csrf(client.get("/dashboard/groups").text)
    for group in ("", f"?group={second.id}"):
        rotated = client.post(
            f"/dashboard/associations/{town.id}/join/rotate{group}", data={"csrf_token": token}
        )
        assert rotated.status_code == 404
        assert client.get(f"/dashboard/associations/{town.id}/flyer.pdf{group}").status_code == 404
    session.expire_all()
    assert {area: join_codes.current(session, town, area).code for area in before} == before


def test_a_group_leader_does_not_see_the_association_s_adoption_curve(
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    # As on 「自治会と到達率」: a 班長 sees their own 班, never association-wide figures.
    town = make_association(groups=("1班",), name="見せない自治会")
    make_resident(association=town)
    client = dashboard_client(make_staff(Role.group_leader, group_id=town.groups[0].id))
    page = client.get("/dashboard/adoption")
    assert page.status_code == 302 and page.headers["Location"].endswith("/dashboard/groups")
    assert client.get("/dashboard/adoption.csv").status_code == 404
    # Nor does the menu offer them pages that only redirect or that they cannot use.
    menu = client.get("/dashboard/groups").text.split("</nav>")[0]
    assert "班と紙の世帯" in menu
    for hidden in ("自治会と到達率", "登録の推移", "ひな形"):
        assert hidden not in menu
