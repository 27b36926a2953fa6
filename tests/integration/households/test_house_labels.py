"""House labels (issue #20 item 6): the name staff see for a resident, who may set it, a
resident's request to change it from LINE, and the lists that now show it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.households import families, labels
from broadcasts.residents import privacy
from broadcasts.staff.scope import Scope
from broadcasts.stats.responses import not_confirmed
from models import (
    CARD,
    Association,
    AuditEntry,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    District,
    Household,
    HouseholdMember,
    LabelRequest,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import last
from tests.helpers.databases import race
from tests.helpers.servers import serving_line


@dataclass
class Town:
    district: District
    association: Association
    other: Association
    first: Resident
    second: Resident
    elsewhere: Resident


@pytest.fixture
def town(
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
) -> Town:
    district = make_district()
    association = make_association(district=district, name="桜町内会", groups=("1班", "2班"))
    other = make_association(district=district, name="梅町内会", groups=("1班",))
    one, two = association.groups
    return Town(
        district,
        association,
        other,
        make_resident(association=association, group=one, display_name="さくら"),
        make_resident(association=association, group=two, display_name=None),
        make_resident(association=other, group=other.groups[0], display_name="うめ"),
    )


def scope_of(member: StaffMember) -> Scope:
    return Scope.of_member(member)


@pytest.fixture
def admin(make_staff: Callable[..., StaffMember]) -> Scope:
    return scope_of(make_staff(Role.admin))


def shown(session: Session, resident: Resident) -> str | None:
    return session.scalar(select(labels.staff_name()).where(Resident.id == resident.id))


def test_staff_see_the_label_else_the_nickname_else_nothing(
    session: Session, clock: FakeClock, town: Town, make_staff: Callable[..., StaffMember]
) -> None:
    officer = scope_of(make_staff(Role.officer, association_id=town.association.id))
    assert shown(session, town.first) == "さくら"
    assert shown(session, town.second) is None
    households_before = session.scalar(
        select(func.count(func.distinct(families.household_key())))
        .select_from(Resident)
        .outerjoin(HouseholdMember, HouseholdMember.resident_id == Resident.id)
    )
    # Typed in full width with stray spaces: kept folded, as typed otherwise.
    stored = labels.set_label(session, clock, officer, town.first, "　１班　 山田（12-3） ")
    assert stored == "1班 山田(12-3)"
    assert shown(session, town.first) == "1班 山田(12-3)"
    # A resident alone got a household row; they still count as one household.
    assert session.scalar(select(func.count()).select_from(Household)) == 1
    assert households_before == session.scalar(
        select(func.count(func.distinct(families.household_key())))
        .select_from(Resident)
        .outerjoin(HouseholdMember, HouseholdMember.resident_id == Resident.id)
    )
    labels.set_label(session, clock, officer, town.second, "2班 佐藤")
    assert shown(session, town.second) == "2班 佐藤"
    # Removing the label shows the nickname again.
    assert labels.set_label(session, clock, officer, town.first, "  ") is None
    assert shown(session, town.first) == "さくら"
    with pytest.raises(labels.LabelRefused):
        labels.set_label(session, clock, officer, town.first, "あ" * (labels.LABEL_LIMIT + 1))
    assert labels.clean("あ" * labels.LABEL_LIMIT) == "あ" * labels.LABEL_LIMIT


def test_family_members_share_their_households_label(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_resident: Callable[..., Resident],
    admin: Scope,
) -> None:
    code = families.invite(session, clock, town.first).code or ""
    partner = make_resident(association=town.other, display_name="パートナー")
    assert families.join(session, clock, partner, families.CODE.typed(code) or "") == "joined"
    labels.set_label(session, clock, admin, town.first, "1班 山田")
    assert shown(session, partner) == "1班 山田"
    # Leaving the household leaves the label with it.
    families.leave(session, partner)
    assert shown(session, partner) == "パートナー"


@pytest.mark.parametrize(
    ("role", "where", "allowed"),
    [
        (Role.admin, None, True),
        (Role.promoter, "district", False),
        (Role.officer, "association", True),
        (Role.officer, "other", False),
        (Role.group_leader, "own group", True),
        (Role.group_leader, "other group", False),
    ],
)
def test_who_may_label_a_household(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
    role: Role,
    where: str | None,
    allowed: bool,
) -> None:
    areas = {
        None: {},
        "district": {"district_id": town.district.id},
        "association": {"association_id": town.association.id},
        "other": {"association_id": town.other.id},
        "own group": {"group_id": town.first.group_id},
        "other group": {"group_id": town.second.group_id},
    }
    scope = scope_of(make_staff(role, **areas[where]))
    if allowed:
        labels.set_label(session, clock, scope, town.first, "1班 山田")
        assert shown(session, town.first) == "1班 山田"
        entry = session.scalars(select(AuditEntry)).one()
        # The audit log has the resident's id, never the label.
        assert (entry.action, entry.subject_type, entry.subject_id, entry.details) == (
            "household.labelled",
            "resident",
            town.first.id,
            {},
        )
    else:
        with pytest.raises(labels.NotYours):
            labels.set_label(session, clock, scope, town.first, "1班 山田")
        assert shown(session, town.first) == "さくら"


def test_an_erased_resident_cannot_be_labelled(
    session: Session, clock: FakeClock, town: Town, admin: Scope
) -> None:
    privacy.erase(session, clock, town.first)
    with pytest.raises(labels.NotYours):
        labels.set_label(session, clock, admin, town.first, "1班 山田")


def test_a_request_is_approved_or_declined_once(
    session: Session, clock: FakeClock, town: Town, make_staff: Callable[..., StaffMember]
) -> None:
    leader = scope_of(make_staff(Role.group_leader, group_id=town.first.group_id))
    assert labels.ask(session, clock, town.first, "1班 山田（12-3）") == "sent"
    assert labels.own(session, town.first) == labels.Own(None, "1班 山田(12-3)")
    assert labels.decide(session, clock, leader, town.first, "1班 山田(12-3)", approve=True)
    assert labels.own(session, town.first) == labels.Own("1班 山田(12-3)", None)
    assert not labels.decide(session, clock, leader, town.first, "1班 山田(12-3)", approve=False)
    labels.ask(session, clock, town.first, "やまだ")
    # Asked again since the page was read: the request on the page is no longer the one.
    labels.ask(session, clock, town.first, "ヤマダ")
    assert not labels.decide(session, clock, leader, town.first, "やまだ", approve=True)
    assert labels.decide(session, clock, leader, town.first, "ヤマダ", approve=False)
    assert labels.own(session, town.first) == labels.Own("1班 山田(12-3)", None)
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["household.label_approved", "household.label_declined"]
    # The other 班's leader may not answer a request of this one.
    labels.ask(session, clock, town.first, "山田")
    other = scope_of(make_staff(Role.group_leader, group_id=town.second.group_id))
    with pytest.raises(labels.NotYours):
        labels.decide(session, clock, other, town.first, "山田", approve=True)


def test_the_list_is_searched_by_label_and_paged(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_resident: Callable[..., Resident],
    admin: Scope,
) -> None:
    group = town.association.groups[0]
    for n in range(labels.PAGE_SIZE + 5):
        resident = make_resident(association=town.association, group=group)
        labels.set_label(session, clock, admin, resident, f"1班 世帯{n:03d}")
    labels.set_label(session, clock, admin, town.first, "1班 山田_100%")
    first = labels.listing(session, town.association.id, None, "", 1)
    assert first.total == labels.PAGE_SIZE + 7 and first.pages == 2
    assert len(first.rows) == labels.PAGE_SIZE
    last_page = labels.listing(session, town.association.id, None, "", 99)
    assert last_page.page == 2 and len(last_page.rows) == 7
    # 1班 before 2班; by the name staff see within a 班.
    assert [r.group_name for r in last_page.rows][-1] == "2班"
    found = labels.listing(session, town.association.id, None, "山田", 1)
    assert [r.label for r in found.rows] == ["1班 山田_100%"]
    # Typed in full width; % and _ are letters, not wildcards.
    assert labels.listing(session, town.association.id, None, "＿１００％", 1).total == 1
    assert labels.listing(session, town.association.id, None, "%", 1).total == 1
    assert labels.listing(session, town.association.id, group.id, "さくら", 1).total == 1
    assert labels.listing(session, town.association.id, town.second.group_id, "", 1).total == 1
    assert labels.listing(session, town.other.id, None, "山田", 1).total == 0


def test_the_not_confirmed_list_shows_the_label(
    session: Session,
    clock: FakeClock,
    town: Town,
    make_circular: Callable[..., Circular],
    admin: Scope,
) -> None:
    circular = make_circular(status=CircularStatus.sent)
    for resident in (town.first, town.second):
        session.add(
            Delivery(
                circular=circular,
                resident=resident,
                slot=CARD,
                status=DeliveryStatus.sent,
                association_id=town.association.id,
                group_id=resident.group_id,
            )
        )
    session.flush()
    labels.set_label(session, clock, admin, town.second, "2班 佐藤")
    names = [r.name for r in not_confirmed(session, circular.id, town.association.id)]
    assert names == ["さくら", "2班 佐藤"]


def test_a_resident_asks_for_a_new_label_in_line(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    clock: FakeClock,
    make_staff: Callable[..., StaffMember],
) -> None:
    association = make_association(name="桜町内会", groups=("1班",))
    (user,) = make_line_residents(1, association, association.groups[0])
    session.commit()
    with serving_line(app, sim):
        sim.text(user, "表示名の変更")
        assert "新しい表示名を送ってください" in last(sim, user)["text"]
        sim.text(user, "1班　山田（12-3）")
        assert "表示名の変更をお願いしました：1班 山田(12-3)" in last(sim, user)["text"]
        sim.text(user, "わたしの情報")
        told = sim.inbox(user)[-2]["message"]["text"]
        assert "変更をお願い中の表示名：1班 山田(12-3)" in told
        # The prompt applies to the very next text only: a later text is no label.
        sim.text(user, "表示名の変更")
        sim.text(user, "ヘルプ")
        sim.text(user, "田中")
        session.expire_all()
        resident = session.scalars(select(Resident).where(Resident.line_user_id == user)).one()
        request = session.get_one(LabelRequest, resident.id)
        assert request.label == "1班 山田(12-3)" and request.prompted_at is None
        # In one message, and refused when too long.
        sim.text(user, "表示名の変更 " + "あ" * (labels.LABEL_LIMIT + 1))
        assert "40文字まで" in last(sim, user)["text"]
        sim.text(user, "表示名の変更 1班 やまだ")
        assert "1班 やまだ" in last(sim, user)["text"]
        session.expire_all()
        assert session.get_one(LabelRequest, resident.id).label == "1班 やまだ"
        # Approved on the dashboard: 「わたしの情報」 shows it, and no request waits.
        leader = Scope.of_member(make_staff(Role.group_leader, group_id=resident.group_id))
        labels.decide(session, clock, leader, resident, "1班 やまだ", approve=True)
        session.commit()
        sim.text(user, "わたしの情報")
        told = sim.inbox(user)[-2]["message"]["text"]
        assert "世帯の表示名（役員・班長に見える名前）：1班 やまだ" in told
        assert "変更をお願い中" not in told


def test_two_staff_labelling_a_resident_alone_at_once_make_one_household(
    app: Flask, session: Session, town: Town, make_staff: Callable[..., StaffMember]
) -> None:
    officer_id = make_staff(Role.officer, association_id=town.association.id).id
    leader_id = make_staff(Role.group_leader, group_id=town.first.group_id).id
    resident_id = town.first.id
    session.commit()
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    staff = iter((officer_id, leader_id))

    def label(other: Session) -> str | None:
        scope = Scope.of_member(other.get_one(StaffMember, next(staff)))
        return labels.set_label(other, clock, scope, other.get_one(Resident, resident_id), "山田")

    late = race(app, label)
    assert late == "山田", late
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(HouseholdMember)) == 1
    assert labels.label_of(session, resident_id) == "山田"


def test_two_staff_answering_one_request_at_once_answer_it_once(
    app: Flask,
    session: Session,
    clock: FakeClock,
    town: Town,
    make_staff: Callable[..., StaffMember],
) -> None:
    officer_id = make_staff(Role.officer, association_id=town.association.id).id
    resident_id = town.first.id
    labels.ask(session, clock, town.first, "山田")
    session.commit()
    answers = iter((True, False))

    def answer(other: Session) -> bool:
        scope = Scope.of_member(other.get_one(StaffMember, officer_id))
        resident = other.get_one(Resident, resident_id)
        return labels.decide(other, clock, scope, resident, "山田", next(answers))

    assert race(app, answer) is False
    session.expire_all()
    assert labels.label_of(session, resident_id) == "山田"
    actions = session.scalars(select(AuditEntry.action)).all()
    assert actions == ["household.label_approved"]
