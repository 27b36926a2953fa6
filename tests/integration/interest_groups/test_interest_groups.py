"""Interest groups: made by staff, joined by a code and left in LINE (through the simulator),
and circulars to them — alone or with areas, each resident once — counted and reminded like any
other. 「役員会」 is the association's staff, from their roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.circulars.targeting import Target, reach
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.interest_groups import groups, members
from broadcasts.interest_groups.groups import Area, GroupError
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from broadcasts.stats.circular_counts import summary
from linebot_app.extensions import db, line
from models import (
    CARD,
    Association,
    Delivery,
    District,
    DistrictStatus,
    InterestGroup,
    InterestMembership,
    Posters,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import choices, last, tap
from tests.helpers.databases import race
from tests.helpers.servers import serving_line

CITY = Scope(0, city=True)


def resident_of(session: Session, user_id: str) -> Resident:
    return session.scalars(select(Resident).where(Resident.line_user_id == user_id)).one()


def join(session: Session, clock: FakeClock, group: InterestGroup, *users: str) -> None:
    for user in users:
        assert isinstance(members.join(session, clock, user, group.join_code), members.Joined)
    session.commit()


@pytest.fixture
def officer(
    make_association: Callable[..., Association], make_staff: Callable[..., StaffMember]
) -> StaffMember:
    association = make_association(name="梅町内会", groups=("1班", "2班"))
    return make_staff(Role.officer, association_id=association.id)


def home(officer: StaffMember) -> Association:
    association = officer.roles[0].association
    assert association is not None
    return association


# --- the service ---------------------------------------------------------------------------------


def test_a_group_gets_a_code_its_name_is_unique_in_its_area_and_the_staff_group_is_built_in(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    make_association: Callable[..., Association],
) -> None:
    area = Area(association_id=home(officer).id)
    made = groups.create(session, clock, officer.id, area, "  子ども会 ", Posters.officers)
    assert made.name == "子ども会" and len(made.join_code) == groups.CODE.length
    assert groups.CODE.typed(groups.printed(made.join_code).lower()) == made.join_code
    with pytest.raises(GroupError):
        groups.create(session, clock, officer.id, area, "子ども会", Posters.officers)
    with pytest.raises(GroupError):
        groups.create(session, clock, officer.id, area, "役員会", Posters.officers)
    with pytest.raises(GroupError):
        groups.create(session, clock, officer.id, area, "あ" * 51, Posters.officers)
    # Another association may use the same name.
    other = Area(association_id=make_association().id)
    groups.create(session, clock, officer.id, other, "子ども会", Posters.officers)
    listed = groups.listing(session, area)
    assert [(g.name, g.code is None) for g in listed] == [("役員会", True), ("子ども会", False)]
    # The officer is staff but no resident yet: 「役員会」 reaches nobody.
    assert listed[0].members == 0


def test_the_staff_group_is_the_association_s_officers_and_group_leaders_who_are_residents(
    session: Session,
    officer: StaffMember,
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    make_association: Callable[..., Association],
) -> None:
    association = home(officer)
    leader = make_staff(Role.group_leader, group_id=association.groups[0].id)
    elsewhere = make_staff(Role.officer, association_id=make_association().id)
    now = datetime(2026, 11, 1, tzinfo=TOKYO)
    for member in (officer, leader, elsewhere):
        # Staff live anywhere: 「役員会」 follows the role, not the registration.
        make_resident(line_user_id=member.line_user_id, registered_at=now)
    make_resident(association=association, registered_at=now)  # a resident, not staff
    assert reach(session, Target.of(staff_of=[association.id])).recipients == 2
    assert groups.listing(session, Area(association_id=association.id))[0].members == 2


def test_joining_twice_is_once_strangers_must_register_and_wrong_codes_are_limited(
    session: Session, clock: FakeClock, officer: StaffMember, make_resident: Callable[..., Resident]
) -> None:
    group = groups.create(
        session, clock, officer.id, Area(home(officer).id), "老人会", Posters.officers
    )
    resident = make_resident(association=home(officer))
    assert members.join(session, clock, resident.line_user_id, group.join_code) == members.Joined(
        "老人会"
    )
    assert members.join(session, clock, resident.line_user_id, group.join_code) == members.Joined(
        "老人会", already=True
    )
    assert members.join(session, clock, "U" + "9" * 32, group.join_code) == members.NotRegistered()
    unregistered = make_resident(association=None)
    assert isinstance(
        members.join(session, clock, unregistered.line_user_id, group.join_code),
        members.NotRegistered,
    )
    outcomes = [members.join(session, clock, resident.line_user_id, "ZZZZZZZZ") for _ in range(5)]
    assert outcomes[-1] == members.WrongCode(locked=True)
    # Locked out for the day: even the right code is refused now.
    assert members.join(
        session, clock, resident.line_user_id, group.join_code
    ) == members.WrongCode(locked=True)
    assert [g.name for g in members.groups_of(session, resident)] == ["老人会"]
    assert members.leave(session, resident, group.id) == "老人会"
    assert members.leave(session, resident, group.id) is None


def test_who_may_send_to_a_group_follows_its_area_and_its_posters(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    make_staff: Callable[..., StaffMember],
    make_association: Callable[..., Association],
) -> None:
    association = home(officer)
    colleague = make_staff(Role.officer, association_id=association.id)
    promoter = make_staff(Role.promoter, district_id=association.district_id)
    stranger = make_staff(Role.officer, association_id=make_association().id)
    shared = groups.create(
        session, clock, officer.id, Area(association.id), "祭り", Posters.officers
    )
    own = groups.create(
        session, clock, officer.id, Area(association.id), "子ども会", Posters.creator
    )
    district = groups.create(
        session,
        clock,
        promoter.id,
        Area(district_id=association.district_id),
        "ボランティア",
        Posters.officers,
    )

    def may(member: StaffMember, group: InterestGroup) -> bool:
        return Scope.of_member(member).may_target(session, Target.of(interest_groups=[group.id]))

    assert [may(m, shared) for m in (officer, colleague, promoter, stranger)] == [
        True,
        True,
        True,
        False,
    ]
    assert [may(m, own) for m in (officer, colleague, promoter, stranger)] == [
        True,
        False,
        True,
        False,
    ]
    assert [may(m, district) for m in (officer, promoter, stranger)] == [False, True, False]
    assert not Scope.of_member(officer).may_target(session, Target.of(interest_groups=[999_999]))
    assert Scope.of_member(officer).may_target(session, Target.of(staff_of=[association.id]))
    assert not Scope.of_member(stranger).may_target(session, Target.of(staff_of=[association.id]))
    # The draft's check says the same, and an unknown id is refused even for an admin.
    admin = make_staff(Role.admin)
    with pytest.raises(CompositionError):
        drafts.check_target(session, admin, Target.of(interest_groups=[999_999]))
    with pytest.raises(CompositionError):
        drafts.check_target(session, colleague, Target.of(interest_groups=[own.id]))
    drafts.check_target(
        session, colleague, Target.of(interest_groups=[shared.id], staff_of=[association.id])
    )


# --- circulars to groups: once per resident, counted and reminded ---------------------------------


def test_a_circular_to_a_group_and_an_area_reaches_each_resident_once_and_is_reminded(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    officer: StaffMember,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    association = home(officer)
    first, second = association.groups
    in_first = make_line_residents(2, association, first)  # the area targeted
    in_second = make_line_residents(2, association, second)  # not targeted as an area
    neighbours = make_line_residents(1, make_association(name="隣町内会"))
    group = groups.create(
        session, clock, officer.id, Area(association.id), "子ども会", Posters.officers
    )
    # One in both the area and the group, one in the group only, and a neighbour in the group.
    join(session, clock, group, in_first[0], in_second[0], neighbours[0])

    clock.moment = datetime(2026, 12, 1, 10, tzinfo=TOKYO)
    circular = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title="子ども会の集まり",
            body="土曜日10時",
            targets=Target.of(groups=[first.id], interest_groups=[group.id]),
        ),
    )
    assert Target.of_circular(circular) == Target.of(groups=[first.id], interest_groups=[group.id])
    assert reach(session, Target.of_circular(circular)).recipients == 4
    result = release(session, clock, circular, remaining_quota(line()))
    assert result.released, result.reason
    session.commit()
    worker.drain()
    counts = sim.inbox_counts()
    reached = [*in_first, in_second[0], neighbours[0]]
    assert [counts.get(user, 0) for user in reached] == [1, 1, 1, 1]
    assert counts.get(in_second[1], 0) == 0
    card_rows = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.circular_id == circular.id, Delivery.slot == CARD)
    )
    assert card_rows == 4
    # Stats: the officer sees it and its four recipients, like any circular of their area.
    scope = Scope.of_member(officer)
    assert scope.may_see(session, circular.id)
    assert summary(session, circular.id, CITY).delivered == 4

    # Reminders: 24 hours later, those who have not confirmed get one, once.
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(
            quiet_hours=QuietHours.parse("21:00-08:00"),
            dashboard_url="https://kairan.test/dashboard/",
        ),
        holder="clock-A",
        random=lambda: 0.5,
    )
    clock.moment += timedelta(hours=24, minutes=1)
    clockwork.tick()
    worker.drain()
    counts = sim.inbox_counts()
    assert [counts.get(user, 0) for user in reached] == [2, 2, 2, 2]


def test_a_circular_to_a_group_alone_or_to_the_staff_goes_to_their_members_only(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
    make_association: Callable[..., Association],
) -> None:
    association = home(officer)
    group = groups.create(
        session, clock, officer.id, Area(association.id), "老人会", Posters.officers
    )
    member = make_resident(association=association, registered_at=clock.now())
    make_resident(association=association, registered_at=clock.now())
    make_resident(
        line_user_id=officer.line_user_id, association=association, registered_at=clock.now()
    )
    join(session, clock, group, member.line_user_id, officer.line_user_id)
    assert reach(session, Target.of(interest_groups=[group.id])).recipients == 2
    # The officer is in both the group and 「役員会」: once.
    assert (
        reach(session, Target.of(interest_groups=[group.id], staff_of=[association.id])).recipients
        == 2
    )
    assert reach(session, Target.of(staff_of=[association.id])).recipients == 1
    # A member who left stops receiving.
    members.leave(session, member, group.id)
    assert reach(session, Target.of(interest_groups=[group.id])).recipients == 1
    draft = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(title="役員会", body="議事", targets=Target.of(staff_of=[association.id])),
    )
    assert Target.of_circular(draft).staff_association_ids == {association.id}
    assert not draft.targets  # no area row: only the group
    # Staff of the association see circulars to its groups; those of another do not.
    colleague = make_staff(Role.officer, association_id=association.id)
    stranger = make_staff(Role.officer, association_id=make_association().id)
    to_group = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(title="老人会", body="旅行", targets=Target.of(interest_groups=[group.id])),
    )
    for circular in (draft, to_group):
        assert Scope.of_member(colleague).may_see(session, circular.id)
        assert not Scope.of_member(stranger).may_see(session, circular.id)


# --- in LINE --------------------------------------------------------------------------------------


def test_a_resident_joins_by_code_and_leaves_with_a_tap_in_line(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    officer: StaffMember,
    make_line_residents: Callable[..., list[str]],
) -> None:
    association = home(officer)
    (user,) = make_line_residents(1, association)
    kids = groups.create(
        session, clock, officer.id, Area(association.id), "子ども会", Posters.officers
    )
    elders = groups.create(
        session, clock, officer.id, Area(association.id), "老人会", Posters.officers
    )
    session.commit()
    stranger = sim.create_user("まだ登録していない人")
    with serving_line(app, sim):
        sim.text(user, "グループ退会")
        assert "参加しているグループはありません" in last(sim, user)["text"]
        # Typed as people do: lower case, full width hyphen, spaces.
        sim.text(user, groups.printed(kids.join_code).lower().replace("-", "ー", 1))
        assert "「子ども会」に入りました" in last(sim, user)["text"]
        sim.text(user, groups.printed(elders.join_code))
        sim.text(user, groups.printed(elders.join_code))
        assert "もう「老人会」に入っています" in last(sim, user)["text"]
        sim.text(user, "NAKAMA-2222-2222")
        assert "見つかりませんでした" in last(sim, user)["text"]
        sim.text(stranger, groups.printed(kids.join_code))
        assert "先に登録してください" in last(sim, stranger)["text"]

        sim.text(user, "わたしの情報")
        assert "参加しているグループ：子ども会、老人会" in sim.inbox(user)[-2]["message"]["text"]
        sim.text(user, "グループ退会")
        assert set(choices(last(sim, user))) == {"子ども会", "老人会"}
        assert "「子ども会」をぬけました" in tap(sim, user, "子ども会")["text"]
        # The same tap again (an old message): nothing to leave.
        sim.postback(user, f"igl:{kids.id}")
        assert "このグループには入っていません" in last(sim, user)["text"]
        # Someone else's group id, forged: nothing happens to anybody.
        sim.postback(stranger, f"igl:{elders.id}")
    session.expire_all()
    resident = resident_of(session, user)
    assert [g.name for g in members.groups_of(session, resident)] == ["老人会"]
    assert session.scalar(select(func.count()).select_from(InterestMembership)) == 1


def test_an_officer_gets_an_invitation_to_forward_and_others_get_help(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    officer: StaffMember,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_line_residents: Callable[..., list[str]],
) -> None:
    association = home(officer)
    kids = groups.create(
        session, clock, officer.id, Area(association.id), "子ども会", Posters.officers
    )
    elsewhere = make_staff(Role.officer, association_id=make_association().id)
    groups.create(
        session,
        clock,
        elsewhere.id,
        Area(elsewhere.roles[0].association_id),
        "囲碁",
        Posters.officers,
    )
    (resident,) = make_line_residents(1, association)
    # The officer as a LINE user of the simulator.
    user = sim.create_user("役員 花子")
    officer.line_user_id = user
    session.commit()
    with serving_line(app, sim):
        sim.text(user, "グループ招待")
        assert set(choices(last(sim, user))) == {"子ども会"}
        tap(sim, user, "子ども会")
        told, invitation, code = (m["message"]["text"] for m in sim.inbox(user)[-3:])
        assert "転送してください" in told and "「子ども会」" in invitation
        assert code == groups.printed(kids.join_code)
        # A resident: no such word for them, the usual help; a forged tap: refused.
        sim.text(resident, "グループ招待")
        assert "回覧板のLINEです" in last(sim, resident)["text"]
        sim.postback(resident, f"igi:{kids.id}")
        assert groups.printed(kids.join_code) not in last(sim, resident)["text"]
        # The code works for whoever it is forwarded to.
        sim.text(resident, code)
        assert "「子ども会」に入りました" in last(sim, resident)["text"]


def test_a_group_of_a_district_still_preparing_cannot_be_sent_to(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    preparing = make_district(name="準備校区", status=DistrictStatus.preparing)
    association = make_association(district=preparing)
    officer = make_staff(Role.officer, association_id=association.id)
    promoter = make_staff(Role.promoter, district_id=preparing.id)
    club = groups.create(
        session, clock, officer.id, Area(association.id), "子ども会", Posters.officers
    )
    volunteers = groups.create(
        session,
        clock,
        promoter.id,
        Area(district_id=preparing.id),
        "ボランティア",
        Posters.officers,
    )
    for author, target in (
        (officer, Target.of(interest_groups=[club.id])),
        (officer, Target.of(staff_of=[association.id])),
        (promoter, Target.of(interest_groups=[volunteers.id])),
    ):
        with pytest.raises(CompositionError, match="準備中"):
            drafts.check_target(session, author, target)


def test_the_same_code_sent_twice_at_once_joins_once(
    app: Flask,
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    make_resident: Callable[..., Resident],
) -> None:
    group = groups.create(
        session, clock, officer.id, Area(home(officer).id), "祭り", Posters.officers
    )
    resident = make_resident(association=home(officer), registered_at=clock.now())
    session.commit()
    code, user = group.join_code, resident.line_user_id
    # The second join waits behind the first's row (PostgreSQL), then finds it there.
    late = race(app, lambda other: members.join(other, clock, user, code))
    assert late == members.Joined("祭り", already=True), late
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(InterestMembership)) == 1
