"""The clock's work on an injected clock: scheduled releases, reminders, quiet hours, digests."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.composing import attachments
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.schedule import reminders
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from linebot_app.cli import cli
from linebot_app.extensions import db, line
from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    AuditEntry,
    BatchStatus,
    Channel,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    OfficerDigest,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock

QUIET = QuietHours.parse("21:00-08:00")


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def clockwork(app: object, session: Session, clock: FakeClock, sim: SimulatorClient) -> Clockwork:
    return Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(quiet_hours=QUIET, dashboard_url="https://kairan.test/dashboard/"),
        holder="clock-A",
        random=lambda: 0.5,
    )


@pytest.fixture
def association(make_association: Callable[..., Association]) -> Association:
    return make_association(name="梅町内会")


class Town:
    """Residents who are simulated LINE users, and circulars to them."""

    def __init__(
        self,
        session: Session,
        clock: FakeClock,
        sim: SimulatorClient,
        worker: Worker,
        association: Association,
        make_circular: Callable[..., Circular],
        make_line_residents: Callable[..., list[str]],
    ) -> None:
        self.session, self.clock, self.sim, self.worker = session, clock, sim, worker
        self.association = association
        self.make_circular = make_circular
        self.user_ids = make_line_residents(5, association)

    def circular(self, **fields: object) -> Circular:
        return self.make_circular(targets=[CircularTarget(association=self.association)], **fields)

    def released(self, at: datetime, **fields: object) -> Circular:
        self.clock.moment = at
        circular = self.circular(**fields)
        result = release(self.session, self.clock, circular, remaining_quota(line()))
        assert result.released, result.reason
        self.session.commit()
        self.worker.drain()
        return circular

    def confirm(self, circular: Circular, *user_ids: str, answer: int | None = None) -> None:
        for user_id in user_ids:
            resident = self.session.scalars(
                select(Resident).where(Resident.line_user_id == user_id)
            ).one()
            option = next((o for o in circular.options if o.position == answer), None)
            self.session.add(
                Acknowledgement(
                    circular_id=circular.id,
                    resident_id=resident.id,
                    channel=Channel.line,
                    answer_option_id=option.id if option else None,
                    confirmed_at=self.clock.now(),
                )
            )
        self.session.commit()

    def inbox_sizes(self) -> list[int]:
        counts = self.sim.inbox_counts()
        return [counts.get(user_id, 0) for user_id in self.user_ids]

    def at(self, moment: datetime, clockwork: Clockwork) -> None:
        """Move the clock, tick, and let the worker send what the tick released."""
        self.clock.moment = moment
        clockwork.tick()
        self.worker.drain()


@pytest.fixture
def town(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    association: Association,
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> Town:
    return Town(session, clock, sim, worker, association, make_circular, make_line_residents)


def reminder_rows(session: Session, circular: Circular, slot: str) -> int:
    session.expire_all()
    return int(
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.circular_id == circular.id, Delivery.slot == slot)
        )
        or 0
    )


def test_reminders_go_after_24_and_72_hours_to_those_who_have_not_confirmed(
    town: Town, clockwork: Clockwork
) -> None:
    circular = town.released(tokyo(1, 10))
    assert town.inbox_sizes() == [1] * 5
    town.confirm(circular, *town.user_ids[:2])
    town.at(tokyo(2, 9, 59), clockwork)
    assert town.inbox_sizes() == [1] * 5
    town.at(tokyo(2, 10), clockwork)
    assert town.inbox_sizes() == [1, 1, 2, 2, 2]
    (reminder,) = town.sim.inbox(town.user_ids[4])[1:]
    assert reminder["message"]["altText"] == "【回覧】確認のお願い：清掃活動のお知らせ"
    town.confirm(circular, town.user_ids[2])
    town.at(tokyo(4, 10), clockwork)
    assert town.inbox_sizes() == [1, 1, 2, 3, 3]
    town.at(tokyo(6, 10), clockwork)
    assert town.inbox_sizes() == [1, 1, 2, 3, 3], "at most two reminders"


def test_nothing_reaches_residents_in_quiet_hours_unless_urgent(
    town: Town, clockwork: Clockwork
) -> None:
    calm = town.released(tokyo(1, 22, 30))
    urgent = town.released(tokyo(1, 22, 30), urgent=True, title="避難所開設のお知らせ")
    town.at(tokyo(2, 22, 30), clockwork)
    assert reminder_rows(town.session, calm, "reminder-1") == 0
    assert reminder_rows(town.session, urgent, "reminder-1") == 5
    town.at(tokyo(3, 7, 59), clockwork)
    assert reminder_rows(town.session, calm, "reminder-1") == 0
    town.at(tokyo(3, 8, 0), clockwork)
    assert reminder_rows(town.session, calm, "reminder-1") == 5


def test_a_tick_twice_or_a_second_clock_sends_nothing_twice(
    town: Town, clockwork: Clockwork, clock: FakeClock
) -> None:
    circular = town.released(tokyo(1, 10))
    second = Clockwork(
        clockwork.sessions, clockwork.line, clock, clockwork.settings, holder="clock-B"
    )
    town.at(tokyo(2, 10), clockwork)
    assert not second.tick().ticked, "the lease belongs to the first clock"
    # Even working without the lease, the second finds nothing left to do.
    assert second.release_reminders() == []
    clockwork.tick()
    town.worker.drain()
    assert reminder_rows(town.session, circular, "reminder-1") == 5
    assert town.inbox_sizes() == [2] * 5
    # The first clock dies; once its lease runs out the second one takes over.
    clock.advance(minutes=2)
    assert second.tick().ticked


def test_a_clock_down_for_hours_sends_each_missed_reminder_once(
    town: Town, clockwork: Clockwork
) -> None:
    circular = town.released(tokyo(1, 10))
    town.at(tokyo(2, 8), clockwork)
    # Down from 08:00 to 13:00 across the 10:00 reminder.
    town.at(tokyo(2, 13), clockwork)
    town.at(tokyo(2, 13, 1), clockwork)
    assert town.inbox_sizes() == [2] * 5
    assert reminder_rows(town.session, circular, "reminder-1") == 5


def test_a_reminder_made_pointless_by_a_long_outage_is_skipped(
    town: Town, clockwork: Clockwork
) -> None:
    circular = town.released(tokyo(1, 10))
    town.confirm(circular, town.user_ids[0])
    # Down across both reminders: only the later one goes, once.
    town.at(tokyo(4, 12), clockwork)
    town.at(tokyo(4, 12, 1), clockwork)
    assert reminder_rows(town.session, circular, "reminder-1") == 0
    assert reminder_rows(town.session, circular, "reminder-2") == 4
    assert town.inbox_sizes() == [1, 2, 2, 2, 2]


def test_a_released_correction_takes_over_its_originals_reminders(
    town: Town, clockwork: Clockwork
) -> None:
    original = town.released(tokyo(1, 10), event_date=date(2026, 12, 6))
    fix = town.released(
        tokyo(1, 15),
        corrects=original,
        title="【訂正】清掃活動のお知らせ",
        event_date=date(2026, 12, 13),
    )
    assert town.inbox_sizes() == [2] * 5
    town.at(tokyo(2, 10), clockwork)
    assert reminder_rows(town.session, original, "reminder-1") == 0
    town.at(tokyo(2, 15), clockwork)
    assert reminder_rows(town.session, fix, "reminder-1") == 5
    # The original's event date was the mistake: its evening-before reminder never goes.
    town.at(tokyo(5, 18), clockwork)
    assert reminder_rows(town.session, original, "event") == 0
    town.at(tokyo(12, 18), clockwork)
    assert reminder_rows(town.session, fix, "event") == 5
    assert reminders.scheduled(town.session, original, QUIET) == []
    assert [slot for slot, _at in reminders.scheduled(town.session, fix, QUIET)] == [
        "reminder-1",
        "reminder-2",
        "event",
    ]


def test_housekeeping_removes_uploads_no_attachment_names_once_they_are_a_day_old(
    town: Town, clock: FakeClock, tmp_path: Path
) -> None:
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(QUIET, "https://kairan.test/dashboard/", upload_dir=tmp_path),
        holder="clock-A",
    )
    clock.moment = tokyo(3, 10)
    draft = town.circular()
    kept = attachments.add_attachment(
        town.session, draft, "地図.pdf", b"%PDF-1.4\n%%EOF\n", tmp_path
    )
    town.session.commit()
    removed = attachments.add_attachment(
        town.session, draft, "旧.pdf", b"%PDF-1.4\n%%EOF\n", tmp_path
    )
    town.session.commit()
    attachments.remove_attachment(town.session, draft.author, draft, removed.id)
    town.session.commit()
    leftovers = [tmp_path / "rolled-back.jpg", tmp_path / "upload.pdf.part"]
    for path in leftovers:
        path.write_bytes(b"x")
    young = tmp_path / "being-uploaded.pdf.part"
    young.write_bytes(b"x")
    day_ago = (tokyo(2, 9, 59)).timestamp()
    for path in [tmp_path / kept.storage_name, tmp_path / removed.storage_name, *leftovers]:
        os.utime(path, (day_ago, day_ago))
    os.utime(young, (tokyo(3, 9).timestamp(),) * 2)

    clockwork.housekeeping()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept.storage_name, young.name])


def test_scheduled_circulars_are_released_on_time_and_after_quiet_hours(
    town: Town, clockwork: Clockwork
) -> None:
    morning = town.circular(status=CircularStatus.scheduled, scheduled_at=tokyo(1, 9))
    night = town.circular(status=CircularStatus.scheduled, scheduled_at=tokyo(1, 23))
    alarm = town.circular(status=CircularStatus.scheduled, scheduled_at=tokyo(1, 23), urgent=True)
    cancelled = town.circular(status=CircularStatus.cancelled, scheduled_at=tokyo(1, 9))
    town.session.commit()
    town.at(tokyo(1, 8, 59), clockwork)
    assert town.inbox_sizes() == [0] * 5
    town.at(tokyo(1, 9), clockwork)
    assert town.inbox_sizes() == [1] * 5
    town.at(tokyo(1, 23), clockwork)
    assert town.inbox_sizes() == [2] * 5
    town.at(tokyo(2, 8), clockwork)
    assert town.inbox_sizes() == [3] * 5
    town.session.expire_all()
    assert [c.status for c in (morning, night, alarm, cancelled)] == [
        CircularStatus.sent,
        CircularStatus.sent,
        CircularStatus.sent,
        CircularStatus.cancelled,
    ]


def test_deadline_and_event_reminders_go_the_evening_before(
    town: Town, clockwork: Clockwork
) -> None:
    circular = town.released(
        tokyo(1, 10),
        question="総会に出席しますか",
        options=[AnswerOption(position=1, label="出席"), AnswerOption(position=2, label="欠席")],
        answer_deadline=tokyo(10, 12),
        event_date=date(2026, 12, 12),
        reminder_hours=[],
    )
    town.confirm(circular, town.user_ids[0], answer=1)
    town.confirm(circular, town.user_ids[1])
    town.at(tokyo(9, 17, 59), clockwork)
    assert town.inbox_sizes() == [1] * 5
    town.at(tokyo(9, 18), clockwork)
    assert town.inbox_sizes() == [1, 2, 2, 2, 2], "the one who answered gets no deadline reminder"
    (deadline,) = town.sim.inbox(town.user_ids[1])[1:]
    assert "12月10日" in str(deadline["message"])
    town.at(tokyo(11, 18), clockwork)
    assert town.inbox_sizes() == [2, 3, 3, 3, 3], "everybody is reminded of the event"


def test_officers_get_one_digest_at_seven_in_the_evening(
    town: Town, clockwork: Clockwork, session: Session, sim: SimulatorClient
) -> None:
    (officer_line_id,) = sim.create_users(1)
    officer = StaffMember(line_user_id=officer_line_id)
    officer.roles.append(StaffRole(role=Role.officer, association=town.association))
    session.add(officer)
    circular = town.released(tokyo(1, 10))
    town.confirm(circular, *town.user_ids[:3])
    town.at(tokyo(1, 18, 59), clockwork)
    assert sim.inbox(officer_line_id) == []
    town.at(tokyo(1, 19), clockwork)
    town.at(tokyo(1, 19, 1), clockwork)
    (digest,) = sim.inbox(officer_line_id)
    text = digest["message"]["text"]
    assert "清掃活動のお知らせ：届いた 5人、見た 0人、確認 3人" in text
    assert "https://kairan.test/dashboard/" in text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OfficerDigest)) == 1


def test_an_officer_whose_term_ended_gets_no_digest_and_loses_the_role_unasked(
    town: Town, clockwork: Clockwork, session: Session, sim: SimulatorClient
) -> None:
    """Issue #20 item 4: a term ends by itself. The clock removes the role on its own tick (no
    request, nobody acting) and the officer's evening digest stops with it."""
    leaving_line_id, staying_line_id = sim.create_users(2)
    leaving = StaffMember(line_user_id=leaving_line_id)
    # The term's last day is the 1st (Tokyo): it ends at midnight before the 2nd.
    leaving.roles.append(
        StaffRole(role=Role.officer, association=town.association, ends_at=tokyo(2, 0))
    )
    staying = StaffMember(line_user_id=staying_line_id)
    staying.roles.append(StaffRole(role=Role.officer, association=town.association))
    session.add_all([leaving, staying])
    circular = town.released(tokyo(1, 10))
    town.confirm(circular, *town.user_ids[:2])
    town.at(tokyo(1, 19, 1), clockwork)
    assert len(sim.inbox(leaving_line_id)) == 1, "still in office on the last day"
    town.at(tokyo(2, 0, 1), clockwork)
    session.expire_all()
    assert (
        session.scalars(select(StaffRole).where(StaffRole.staff_member_id == leaving.id)).all()
        == []
    )
    town.at(tokyo(2, 19, 1), clockwork)
    assert len(sim.inbox(leaving_line_id)) == 1, "no digest after the term"
    assert len(sim.inbox(staying_line_id)) == 2
    ended = session.scalars(select(AuditEntry).where(AuditEntry.action == "role.ended")).all()
    assert [(e.actor_id, e.subject_id) for e in ended] == [(None, leaving.id)]


def test_the_digest_counts_where_the_circular_was_sent(
    town: Town,
    clockwork: Clockwork,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
) -> None:
    """As the dashboard does: a resident who moved to another association since still counts
    for the one the circular went round, and the new association's officer is not told of it."""
    elsewhere = make_association(name="桜町内会")
    officers = sim.create_users(2)
    for line_user_id, association in zip(officers, (town.association, elsewhere), strict=True):
        officer = StaffMember(line_user_id=line_user_id)
        officer.roles.append(StaffRole(role=Role.officer, association=association))
        session.add(officer)
    circular = town.released(tokyo(1, 10))
    town.confirm(circular, town.user_ids[0])
    moved = session.scalars(select(Resident).where(Resident.line_user_id == town.user_ids[0])).one()
    moved.association = elsewhere
    session.commit()
    town.at(tokyo(1, 19), clockwork)
    town.at(tokyo(1, 19, 1), clockwork)
    (digest,) = sim.inbox(officers[0])
    assert "清掃活動のお知らせ：届いた 5人、見た 0人、確認 1人" in digest["message"]["text"]
    assert sim.inbox(officers[1]) == []


def officers_of(town: Town, sim: SimulatorClient, count: int) -> list[str]:
    """`count` officers of the town's association, by their LINE user ids."""
    line_ids = sim.create_users(count)
    for line_id in line_ids:
        officer = StaffMember(line_user_id=line_id)
        officer.roles.append(StaffRole(role=Role.officer, association=town.association))
        town.session.add(officer)
    town.session.commit()
    return line_ids


def test_a_digest_whose_answer_was_lost_is_resent_with_its_key_and_arrives_once(
    town: Town, clockwork: Clockwork, session: Session, sim: SimulatorClient
) -> None:
    """Digests go through the welcomes' loop (broadcasts/delivery/pushes.py): the attempt and
    its key are committed before the call, so a lost answer is retried with the same key."""
    (officer,) = officers_of(town, sim, 1)
    town.released(tokyo(1, 10))
    # LINE takes the push, but its answer never arrives: as if the clock died after the call.
    sim.set_faults(acceptThenDrop=1.0, seed=1, paths=["/v2/bot/message/push"])
    town.at(tokyo(1, 19), clockwork)
    sim.clear_faults()
    session.expire_all()
    digest = session.scalars(select(OfficerDigest)).one()
    assert digest.status is BatchStatus.pending and digest.attempts == 1
    town.at(tokyo(1, 19, 30), clockwork)
    assert len(sim.inbox(officer)) == 1
    session.expire_all()
    assert session.scalars(select(OfficerDigest)).one().status is BatchStatus.accepted


def test_a_digest_met_by_the_monthly_limit_ends_the_round_and_waits_a_day(
    town: Town, clockwork: Clockwork, session: Session, sim: SimulatorClient
) -> None:
    """One pause ends the round: every later push would meet the same limit."""
    officers_of(town, sim, 2)
    town.released(tokyo(1, 10))
    quota_left(sim, 0)
    town.at(tokyo(1, 19), clockwork)
    session.expire_all()
    first, second = session.scalars(select(OfficerDigest).order_by(OfficerDigest.id)).all()
    assert first.status is BatchStatus.pending and first.attempts == 1
    assert first.next_attempt_at == tokyo(2, 19)
    assert second.attempts == 0 and second.next_attempt_at is None


# --- follow-ups and the monthly quota (issue #18, item 10) --------------------------------------


def quota_left(sim: SimulatorClient, left: int) -> None:
    """The month's quota set so that `left` messages remain."""
    sim.set_quota(limit=sim.quota()["used"] + left)


def test_a_reminder_short_of_quota_waits_whole_and_goes_by_itself_once_quota_returns(
    town: Town, clockwork: Clockwork
) -> None:
    circular = town.released(tokyo(1, 10))
    quota_left(town.sim, 3)  # the reminder needs 5
    town.at(tokyo(2, 10), clockwork)
    assert town.inbox_sizes() == [1] * 5, "nothing sent half"
    assert reminder_rows(town.session, circular, "reminder-1") == 0, "waiting, not released"
    town.at(tokyo(2, 11), clockwork)
    assert town.inbox_sizes() == [1] * 5
    town.sim.set_quota(limit=1000)  # a raised plan
    town.at(tokyo(2, 11, 1), clockwork)
    assert town.inbox_sizes() == [2] * 5
    assert reminder_rows(town.session, circular, "reminder-1") == 5


def paused_by_the_monthly_limit(town: Town, clockwork: Clockwork, **fields: object) -> Circular:
    """A sent circular whose first reminder was released, then met LINE's monthly limit
    because other messages used the quota before the worker sent it."""
    circular = town.released(tokyo(1, 10), **fields)
    town.clock.moment = tokyo(2, 10)
    clockwork.tick()
    assert reminder_rows(town.session, circular, "reminder-1") == 5
    quota_left(town.sim, 2)
    town.worker.drain()
    town.session.expire_all()
    assert circular.status is CircularStatus.sent
    assert circular.hold_reason is not None and "上限" in circular.hold_reason
    assert town.inbox_sizes() == [1] * 5
    return circular


def test_a_follow_up_paused_by_the_monthly_limit_resumes_by_itself_when_quota_returns(
    town: Town, clockwork: Clockwork
) -> None:
    circular = paused_by_the_monthly_limit(town, clockwork, event_date=date(2026, 12, 5))
    town.at(tokyo(2, 10, 1), clockwork)
    assert town.inbox_sizes() == [1] * 5, "still short: still waiting"
    town.sim.set_quota(limit=1000)
    town.at(tokyo(2, 10, 2), clockwork)
    assert town.inbox_sizes() == [2] * 5
    town.session.expire_all()
    assert circular.hold_reason is None
    # Later follow-ups of the same circular are not stuck behind the pause either.
    town.at(tokyo(4, 18), clockwork)
    assert reminder_rows(town.session, circular, "reminder-2") == 5
    assert reminder_rows(town.session, circular, "event") == 5
    assert town.inbox_sizes() == [4] * 5


def test_a_paused_follow_up_resumes_from_the_command(
    town: Town, clockwork: Clockwork, app: Flask
) -> None:
    circular = paused_by_the_monthly_limit(town, clockwork)
    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)
    short = runner.invoke(cli, ["circulars", "send", str(circular.id)], obj=info)
    assert short.exit_code != 0 and "必要 5 通、残り 2 通" in short.output
    town.sim.set_quota(limit=1000)
    resumed = runner.invoke(cli, ["circulars", "send", str(circular.id)], obj=info)
    assert resumed.exit_code == 0, resumed.output
    assert "resumed" in resumed.output
    town.worker.drain()
    assert town.inbox_sizes() == [2] * 5


def test_a_paused_follow_up_resumes_from_the_dashboard_button(
    town: Town, clockwork: Clockwork, dashboard_client: Callable[..., Any]
) -> None:
    circular = paused_by_the_monthly_limit(town, clockwork)
    client = dashboard_client(circular.author)
    page = client.get(f"/dashboard/circulars/{circular.id}").get_data(as_text=True)
    assert "今月のメッセージ上限" in page and "再開" in page
    action = f"/dashboard/circulars/{circular.id}/resume"
    assert f'action="{action}"' in page
    token = re.search(r'id="resume-csrf" name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    form = {"csrf_token": token.group(1)}
    short = client.post(action, data=form, follow_redirects=True).get_data(as_text=True)
    assert "必要 5 通、残り 2 通" in short
    town.worker.drain()
    assert town.inbox_sizes() == [1] * 5
    town.sim.set_quota(limit=1000)
    done = client.post(action, data=form, follow_redirects=True).get_data(as_text=True)
    assert "送信を再開しました" in done
    town.worker.drain()
    assert town.inbox_sizes() == [2] * 5
