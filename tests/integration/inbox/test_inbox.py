"""「自治会へ」: a resident's message becomes a thread of their association that its officers (and
only they) read and answer; the officers' notice carries no body; the answer reaches the
resident once; a resident sends at most DAILY_LIMIT a day; erasing the resident takes it all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.inbox import answers, notices, writing
from broadcasts.residents import privacy
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from linebot_app.extensions import db, line
from models import (
    Association,
    BatchStatus,
    InboxMessage,
    InboxPush,
    InboxThread,
    Resident,
    Role,
    StaffMember,
    StaffRole,
    ThreadStatus,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import last, resident_of
from tests.helpers.servers import serving_line

BODY = "公園の街灯が切れています（3丁目）"


@dataclass
class Town:
    association: Association
    other: Association
    resident: Resident
    officer: StaffMember
    officer_elsewhere: StaffMember


@pytest.fixture
def town(
    session: Session,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
) -> Town:
    association = make_association(name="桜町内会", groups=("1班",))
    other = make_association(district=association.district, name="梅町内会")
    return Town(
        association,
        other,
        make_resident(association=association, group=association.groups[0], display_name="さくら"),
        make_staff(Role.officer, association_id=association.id),
        make_staff(Role.officer, association_id=other.id),
    )


def scope(member: StaffMember) -> Scope:
    return Scope.of_member(member)


def test_a_message_becomes_a_thread_only_its_officers_read(
    session: Session, clock: FakeClock, town: Town, make_staff: Callable[..., StaffMember]
) -> None:
    assert writing.write(session, clock, town.resident, "  " + BODY + "\n") == "sent"
    thread = session.scalars(select(InboxThread)).one()
    assert (thread.association_id, thread.status) == (town.association.id, ThreadStatus.open)
    # One notice for the association's officer, none for the other association's.
    pushed = session.scalars(select(InboxPush)).all()
    assert [p.staff_member_id for p in pushed] == [town.officer.id]
    seen = answers.thread(session, scope(town.officer), thread.id)
    assert [m.body for m in seen.messages] == [BODY]
    assert seen.name == "さくら" and seen.group_name == "1班"
    listed = answers.listing(session, scope(town.officer), None, 1)
    assert [r.thread_id for r in listed.rows] == [thread.id]
    district = town.association.district_id
    for outsider in (
        town.officer_elsewhere,
        make_staff(Role.admin),
        make_staff(Role.promoter, district_id=district),
        make_staff(Role.group_leader, group_id=town.resident.group_id),
    ):
        with pytest.raises(answers.NotYours):
            answers.thread(session, scope(outsider), thread.id)
        with pytest.raises(answers.NotYours):
            answers.answer(session, clock, scope(outsider), thread.id, "はい")
        assert answers.listing(session, scope(outsider), None, 1).rows == []


def test_an_answer_is_kept_pushed_once_and_moves_the_status(
    session: Session, clock: FakeClock, town: Town
) -> None:
    writing.write(session, clock, town.resident, BODY)
    thread = session.scalars(select(InboxThread)).one()
    with pytest.raises(answers.AnswerRefused):
        answers.answer(session, clock, scope(town.officer), thread.id, "   ")
    answers.answer(session, clock, scope(town.officer), thread.id, "明日なおします")
    assert thread.status is ThreadStatus.in_progress
    to_resident = session.scalars(
        select(InboxPush).where(InboxPush.staff_member_id.is_(None))
    ).one()
    push = notices.answer_push(session, to_resident)
    assert push.user_id == town.resident.line_user_id
    assert "明日なおします" in push.messages[0].text and "桜町内会" in push.messages[0].text
    assert answers.set_status(session, clock, scope(town.officer), thread.id, ThreadStatus.done)
    assert not answers.set_status(session, clock, scope(town.officer), thread.id, ThreadStatus.done)
    # After 完了 the resident's next message opens a new thread; before it, it joins the old one.
    writing.write(session, clock, town.resident, "もう一つ")
    writing.write(session, clock, town.resident, "追記です")
    threads = session.scalars(select(InboxThread).order_by(InboxThread.id)).all()
    assert [t.status for t in threads] == [ThreadStatus.done, ThreadStatus.open]
    assert [
        m.body for m in answers.thread(session, scope(town.officer), threads[1].id).messages
    ] == [
        "もう一つ",
        "追記です",
    ]
    # The officer heard of the first thread, and of the second once: not of the line added
    # while it still waited for them.
    told = session.scalars(
        select(InboxPush.message_id)
        .where(InboxPush.staff_member_id == town.officer.id)
        .order_by(InboxPush.id)
    ).all()
    firsts = [
        session.scalars(
            select(InboxMessage.id).where(InboxMessage.thread_id == t.id).order_by(InboxMessage.id)
        ).first()
        for t in threads
    ]
    assert told == firsts
    only_open = answers.listing(session, scope(town.officer), ThreadStatus.open, 1)
    assert [r.thread_id for r in only_open.rows] == [threads[1].id]


def test_the_officers_notice_names_neither_the_body_nor_the_resident(
    session: Session, clock: FakeClock, town: Town
) -> None:
    writing.write(session, clock, town.resident, BODY)
    notice = session.scalars(select(InboxPush)).one()
    push = notices.notice_push(session, notice, "https://kairan.test/dashboard/")
    text = push.messages[0].text
    assert push.user_id == town.officer.line_user_id
    assert "桜町内会" in text and "https://kairan.test/dashboard/inbox/" in text
    assert BODY not in text and "街灯" not in text and "さくら" not in text


def test_a_resident_sends_at_most_the_daily_limit(
    session: Session, clock: FakeClock, town: Town
) -> None:
    for n in range(writing.DAILY_LIMIT):
        assert writing.write(session, clock, town.resident, f"{n}") == "sent"
    assert writing.write(session, clock, town.resident, "もう一通") == "too_many"
    clock.moment += writing.RATE_WINDOW + timedelta(minutes=1)
    assert writing.write(session, clock, town.resident, "翌日") == "sent"
    assert writing.write(session, clock, town.resident, "あ" * (writing.BODY_LIMIT + 1)) == (
        "too_long"
    )
    assert writing.write(session, clock, town.resident, " ") == "empty"


def test_an_unregistered_resident_cannot_write(
    session: Session, clock: FakeClock, make_resident: Callable[..., Resident]
) -> None:
    assert writing.write(session, clock, make_resident(association=None), BODY) == (
        "not_registered"
    )


def test_erasing_the_resident_takes_their_threads_and_export_shows_them(
    session: Session, clock: FakeClock, town: Town
) -> None:
    writing.write(session, clock, town.resident, BODY)
    thread = session.scalars(select(InboxThread)).one()
    answers.answer(session, clock, scope(town.officer), thread.id, "了解です")
    exported = privacy.export(session, town.resident)
    assert [m["body"] for m in exported["inbox_messages"]] == [BODY, "了解です"]
    assert exported["inbox_threads"][0]["status"] == "in_progress"
    privacy.anonymise(session, clock.now(), town.resident)
    for model in (InboxThread, InboxMessage, InboxPush):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def clockwork(clock: FakeClock) -> Clockwork:
    settings = ClockSettings(QuietHours.parse("21:00-08:00"), "https://kairan.test/dashboard/")
    return Clockwork(db.sessionmaker, line(), clock, settings, holder="inbox", random=lambda: 0.5)


def test_through_line_a_resident_writes_an_officer_is_told_and_the_answer_arrives_once(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    dashboard_client: Callable[..., object],
) -> None:
    association = make_association(name="桜町内会", groups=("1班",))
    (user,) = make_line_residents(1, association, association.groups[0])
    officer_id, other_id = sim.create_users(2)
    officer = StaffMember(line_user_id=officer_id, display_name="役員さん")
    officer.roles.append(StaffRole(role=Role.officer, association_id=association.id))
    session.add(officer)
    session.commit()
    # Daytime in Tokyo: the answer is a message to a resident and waits out quiet hours.
    clock.moment = clock.moment.replace(hour=3)
    with serving_line(app, sim):
        sim.text(user, "自治会へ")
        assert "自治会の役員に伝えたいことを書いて送ってください" in last(sim, user)["text"]
        sim.text(user, BODY)
        assert "自治会の役員に送りました" in last(sim, user)["text"]
    clockwork(clock).tick()
    told = [m["message"]["text"] for m in sim.inbox(officer_id)]
    assert len(told) == 1 and "桜町内会" in told[0] and BODY not in told[0]
    assert sim.inbox(other_id) == []
    resident = resident_of(session, user)
    assert resident is not None
    thread = session.scalars(select(InboxThread)).one()
    assert thread.resident_id == resident.id
    answers.answer(session, clock, Scope.of_member(officer), thread.id, "明日なおします")
    session.commit()
    before = len(sim.inbox(user))
    work = clockwork(clock)
    work.tick()
    work.tick()
    got = [m["message"]["text"] for m in sim.inbox(user)[before:]]
    assert len(got) == 1 and "明日なおします" in got[0]
    session.expire_all()
    assert {p.status for p in session.scalars(select(InboxPush))} == {BatchStatus.accepted}


def test_the_chat_takes_the_message_at_once_or_next_and_says_when_it_cannot(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    association = make_association(name="桜町内会")
    (user,) = make_line_residents(1, association)
    (stranger,) = sim.create_users(1)
    session.commit()

    def bodies() -> list[str]:
        session.expire_all()
        return list(session.scalars(select(InboxMessage.body).order_by(InboxMessage.id)))

    with serving_line(app, sim):
        # In one message, the command in any width; the body kept as typed.
        sim.text(user, "ｼﾞﾁｶｲﾍ　ごみ置き場の　ネットが　破れています")
        assert "自治会の役員に送りました" in last(sim, user)["text"]
        assert bodies() == ["ごみ置き場の　ネットが　破れています"]
        # The prompt applies to the very next text only: a command after it is the command.
        sim.text(user, "自治会へ")
        sim.text(user, "ヘルプ")
        sim.text(user, "ただのひとりごと")
        assert len(bodies()) == 1
        for n in range(writing.DAILY_LIMIT - 1):
            sim.text(user, f"自治会へ {n}")
        sim.text(user, "自治会へ もう一通")
        assert "1日5通まで" in last(sim, user)["text"]
        assert len(bodies()) == writing.DAILY_LIMIT
        # Somebody Kairan does not know gets help.
        sim.text(stranger, "自治会へ こんにちは")
        assert "自治会の役員に送りました" not in last(sim, stranger)["text"]
    assert len(bodies()) == writing.DAILY_LIMIT


def test_an_english_reader_writes_with_association(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> None:
    association = make_association(name="桜町内会")
    (user,) = make_line_residents(1, association)
    resident = resident_of(session, user)
    assert resident is not None
    resident.locale = "en"
    session.commit()
    with serving_line(app, sim):
        sim.text(user, "Association")
        assert "Write what you want to tell your association" in last(sim, user)["text"]
        sim.text(user, "The street light is out")
        assert "Sent to your association's officers" in last(sim, user)["text"]
    session.expire_all()
    assert session.scalars(select(InboxMessage.body)).all() == ["The street light is out"]
