"""安否確認 (issue #10, item 5): a district of 500 residents is asked in the middle of the night;
the board counts answers per 班 inside each viewer's scope, names only for those who may see
them; reminders go every 30 minutes for 3 hours to those who have not answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.composing.drafts import CompositionError, NotPermitted
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.residents import acknowledgements
from broadcasts.safety import checks
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from broadcasts.staff.scope import load as load_scope
from linebot_app.cli import cli
from linebot_app.extensions import db, line
from models import (
    Association,
    Circular,
    CircularStatus,
    Delivery,
    District,
    Group,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock

QUIET = QuietHours.parse("21:00-08:00")
SAFE, HELP = checks.SAFE_POSITION, checks.HELP_POSITION


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


@dataclass
class Area:
    association: Association
    group: Group | None
    user_ids: list[str]


@dataclass
class Town:
    district: District
    areas: list[Area]
    promoter: StaffMember

    def user_ids(self) -> list[str]:
        return [user for area in self.areas for user in area.user_ids]


@pytest.fixture
def town(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
) -> Town:
    """500 LINE residents in one district: two associations with 班, one without."""
    district = make_district(name="平野校区", kana="ひらの")
    east = make_association(district=district, name="東町内会", kana="あ", groups=("1班", "2班"))
    west = make_association(
        district=district, name="西町内会", kana="い", groups=("1班", "2班", "3班")
    )
    south = make_association(district=district, name="南自治会", kana="う")
    sizes = [(east, 0, 100), (east, 1, 90), (west, 0, 80), (west, 1, 70), (west, 2, 60)]
    areas = [Area(a, a.groups[i], make_line_residents(n, a, a.groups[i])) for a, i, n in sizes]
    areas.append(Area(south, None, make_line_residents(100, south)))
    # Residents elsewhere get nothing.
    make_line_residents(5, make_association(name="よその町内会"))
    promoter = make_staff(Role.promoter, district_id=district.id)
    session.commit()
    return Town(district, areas, promoter)


@pytest.fixture
def clockwork(app: Flask, session: Session, clock: FakeClock, sim: SimulatorClient) -> Clockwork:
    return Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(quiet_hours=QUIET, dashboard_url="https://kairan.test/dashboard/"),
        holder="clock-A",
        random=lambda: 0.5,
    )


def start(session: Session, clock: FakeClock, town: Town, worker: Worker) -> Circular:
    quota = remaining_quota(line())
    started = checks.start(
        session, clock, town.promoter, Target.of(districts=[town.district.id]), quota
    )
    assert started.release.released, started.release.reason
    session.commit()
    worker.drain()
    return started.circular


def answer(
    session: Session, clock: FakeClock, circular: Circular, users: list[str], position: int
) -> None:
    for user_id in users:
        resident = session.scalars(select(Resident).where(Resident.line_user_id == user_id)).one()
        result = acknowledgements.answer(session, clock, resident, circular.id, position)
        assert result.status == "recorded"
    session.commit()


def counts(board: checks.Board) -> dict[tuple[str, str | None], tuple[int, int, int]]:
    return {
        (row.association_name, row.group_name): (row.help, row.safe, row.waiting)
        for row in board.rows
    }


def test_a_safety_check_reaches_500_residents_at_night_and_the_board_counts_per_group(
    session: Session, clock: FakeClock, sim: SimulatorClient, worker: Worker, town: Town
) -> None:
    clock.moment = tokyo(1, 23, 30)  # inside quiet hours
    circular = start(session, clock, town, worker)
    assert circular.urgent and circular.safety_check
    assert circular.status in (CircularStatus.sending, CircularStatus.sent)
    inbox = sim.inbox_counts()
    assert [inbox.get(user, 0) for user in town.user_ids()] == [1] * 500
    card = sim.inbox(town.user_ids()[0])[0]["message"]
    buttons = card["contents"]["footer"]["contents"]
    assert [b["action"]["label"] for b in buttons[:2]] == ["無事です", "助けが必要"]
    assert "確認しました" not in [b["action"]["label"] for b in buttons]

    east1, _east2, _west1, west2, _west3, south = town.areas
    answer(session, clock, circular, east1.user_ids[:60], SAFE)
    answer(session, clock, circular, east1.user_ids[60:63], HELP)
    answer(session, clock, circular, west2.user_ids[:70], SAFE)
    answer(session, clock, circular, south.user_ids[:10], HELP)
    answer(session, clock, circular, south.user_ids[10:15], SAFE)
    # A resident may change their answer: the latest one counts.
    answer(session, clock, circular, south.user_ids[:1], SAFE)

    board = checks.board(session, circular.id, load_scope(session, town.promoter.id, clock.now()))
    assert counts(board) == {
        ("東町内会", "1班"): (3, 60, 37),
        ("東町内会", "2班"): (0, 0, 90),
        ("西町内会", "1班"): (0, 0, 80),
        ("西町内会", "2班"): (0, 70, 0),
        ("西町内会", "3班"): (0, 0, 60),
        ("南自治会", None): (9, 6, 85),
    }
    assert (board.help, board.safe, board.waiting, board.total) == (12, 136, 352, 500)
    # Rows with someone needing help come first.
    assert [(r.association_name, r.group_name) for r in board.rows[:2]] == [
        ("東町内会", "1班"),
        ("南自治会", None),
    ]
    # A promoter sees counts, never names.
    assert all(row.people is None for row in board.rows) and board.needing_help == []


def test_names_only_for_officers_of_the_association_and_the_leader_of_the_group(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    town: Town,
    make_staff: Callable[..., StaffMember],
) -> None:
    clock.moment = tokyo(2, 2, 0)
    circular = start(session, clock, town, worker)
    east1, east2, *_rest = town.areas
    answer(session, clock, circular, east1.user_ids[:2], HELP)
    answer(session, clock, circular, east1.user_ids[2:5], SAFE)
    officer = make_staff(Role.officer, association_id=east1.association.id)
    session.commit()

    board = checks.board(session, circular.id, load_scope(session, officer.id, clock.now()))
    assert {(r.association_name, r.group_name) for r in board.rows} == {
        ("東町内会", "1班"),
        ("東町内会", "2班"),
    }, "an officer sees their own association only"
    first = board.rows[0]
    assert first.group_name == "1班" and first.people is not None
    assert [p.answer for p in first.people[:6]] == ["help", "help", "none", "none", "none", "none"]
    assert [p.answer for p in first.people[-3:]] == ["safe"] * 3
    assert len(first.people) == 100
    assert len(board.needing_help) == 2

    # A 班長 (a scope of one group) sees their 班 alone, by name.
    leader = Scope(staff_member_id=officer.id, group_ids=frozenset({east2.group.id}))  # type: ignore[union-attr]
    board = checks.board(session, circular.id, leader)
    assert [(r.group_name, r.waiting, len(r.people or [])) for r in board.rows] == [("2班", 90, 90)]


def test_only_admins_and_promoters_start_one_and_only_in_their_area(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    make_district: Callable[..., District],
) -> None:
    officer = make_staff(Role.officer, association_id=town.areas[0].association.id)
    with pytest.raises(NotPermitted):
        checks.start(session, clock, officer, Target.of(districts=[town.district.id]), None)
    session.rollback()
    other = make_district()
    with pytest.raises(CompositionError):
        checks.start(session, clock, town.promoter, Target.of(districts=[other.id]), None)
    session.rollback()
    empty = make_district()
    admin = make_staff(Role.admin)
    started = checks.start(session, clock, admin, Target.of(districts=[empty.id]), None)
    assert not started.release.released and "住民がいません" in (started.release.reason or "")
    session.rollback()


def slot_rows(session: Session, circular: Circular, slot: str) -> int:
    session.expire_all()
    return int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.circular_id == circular.id, Delivery.slot == slot)
        )
        or 0
    )


def test_reminders_every_30_minutes_for_3_hours_in_quiet_hours_only_to_those_not_answered(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    town: Town,
    clockwork: Clockwork,
) -> None:
    clock.moment = tokyo(1, 23, 0)
    circular = start(session, clock, town, worker)
    users = town.user_ids()
    answer(session, clock, circular, users[:100], SAFE)

    def at(moment: datetime) -> None:
        clock.moment = moment
        clockwork.tick()
        worker.drain()

    at(tokyo(1, 23, 29))
    assert slot_rows(session, circular, "safety-1") == 0, "not before 30 minutes"
    at(tokyo(1, 23, 30))
    assert slot_rows(session, circular, "safety-1") == 400
    at(tokyo(1, 23, 45))
    assert slot_rows(session, circular, "safety-1") == 400, "each reminder once"
    answer(session, clock, circular, users[100:200], HELP)
    at(tokyo(2, 0, 0))
    assert slot_rows(session, circular, "safety-2") == 300
    for n in range(3, 7):
        at(tokyo(1, 23, 0) + timedelta(minutes=30 * n))
        assert slot_rows(session, circular, f"safety-{n}") == 300
    at(tokyo(2, 3, 0))
    at(tokyo(2, 6, 0))
    assert [slot_rows(session, circular, f"safety-{n}") for n in range(1, 8)] == [
        400,
        300,
        300,
        300,
        300,
        300,
        0,
    ]
    inbox = sim.inbox_counts()
    # The card, then: those who answered at once nothing, those who asked for help after the
    # first reminder one, the rest all six.
    assert {inbox[user] for user in users[:100]} == {1}
    assert {inbox[user] for user in users[100:200]} == {2}
    assert {inbox[user] for user in users[200:]} == {7}
    reminder = sim.inbox(users[-1])[-1]["message"]
    assert reminder["altText"] == "【安否確認】お返事をお願いします"
    labels = [b["action"]["label"] for b in reminder["contents"]["footer"]["contents"]]
    assert labels[:2] == ["無事です", "助けが必要"]


def test_the_cli_starts_a_safety_check_for_a_district(
    app: Flask, session: Session, sim: SimulatorClient, town: Town
) -> None:
    info = ScriptInfo(create_app=lambda: app)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "safety",
            "start",
            "--district",
            town.district.code,
            "--author",
            town.promoter.line_user_id,
        ],
        obj=info,
    )
    assert result.exit_code == 0, result.output
    assert "500" in result.output
    session.expire_all()
    check = session.scalars(select(Circular).where(Circular.safety_check.is_(True))).one()
    assert check.status is CircularStatus.sending and check.urgent
    wrong = runner.invoke(
        cli,
        ["safety", "start", "--district", "NOPE", "--author", town.promoter.line_user_id],
        obj=info,
    )
    assert wrong.exit_code != 0 and "NOPE" in wrong.output


def test_the_standard_check_speaks_each_residents_language_and_a_custom_one_japanese(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
) -> None:
    district = make_district()
    japanese, english = make_line_residents(2, make_association(district=district))
    resident = session.scalars(select(Resident).where(Resident.line_user_id == english)).one()
    resident.locale = "en"
    promoter = make_staff(Role.promoter, district_id=district.id)
    session.commit()

    def labels(user_id: str) -> list[str]:
        footer = sim.inbox(user_id)[-1]["message"]["contents"]["footer"]["contents"]
        return [b["action"]["label"] for b in footer if b["action"]["data"].startswith("ans:")]

    def check(message: str | None) -> None:
        quota = remaining_quota(line())
        target = Target.of(districts=[district.id])
        started = checks.start(session, clock, promoter, target, quota, message)
        assert started.release.released, started.release.reason
        session.commit()
        worker.drain()

    check(None)
    assert labels(english) == ["I'm safe", "I need help"]
    assert labels(japanese) == ["無事です", "助けが必要"]
    assert sim.inbox(english)[-1]["message"]["altText"].startswith("[")
    # The author's own words exist in Japanese only: everyone reads the same card.
    check("川があふれそうです。ご無事ですか。")
    assert labels(english) == labels(japanese) == ["無事です", "助けが必要"]
