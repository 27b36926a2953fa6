"""Personal data (issue #21 item 4): disclosure (export), deletion (erase) that keeps the
statistics, the retention period run by the clock, and the admin-only dashboard page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import JSON, String, Text, cast, func, select
from sqlalchemy.orm import Session

from broadcasts.inbox import writing
from broadcasts.residents import privacy
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from broadcasts.stats.circular_counts import summary
from linebot_app.cli import cli
from linebot_app.extensions import db, line
from models import (
    Acknowledgement,
    AnswerOption,
    AnswerPrompt,
    ArchiveSearch,
    Association,
    AuditEntry,
    Base,
    Channel,
    Circular,
    Conversation,
    ConversationStep,
    Delivery,
    DeliveryStatus,
    District,
    DistrictWelcome,
    FollowStatus,
    Household,
    HouseholdInvite,
    HouseholdMember,
    InboxMessage,
    InboxThread,
    InterestGroup,
    InterestMembership,
    LabelRequest,
    Open,
    Resident,
    Role,
    StaffMember,
    StaffRole,
    WatchOverOptOut,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.settings import REPO
from tests.helpers.stats import Sent

PRIVACY_DOC = REPO / "docs" / "privacy.md"


def documented_fields() -> list[tuple[str, str]]:
    """The `table.column` pairs docs/privacy.md lists for a resident (its first table)."""
    text = PRIVACY_DOC.read_text(encoding="utf-8")
    section = text.split("<!-- resident-fields -->")[1].split("<!-- /resident-fields -->")[0]
    found = re.findall(r"^\| `([a-z_]+)\.([a-z_]+)`", section, flags=re.MULTILINE)
    assert len(found) > 20, "docs/privacy.md lists the resident's fields in its marked table"
    return found


def run(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def everything(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> Resident:
    """A resident with a row in every table that holds something of theirs."""
    district = make_district()
    association = make_association(district=district, groups=("1班",))
    resident = make_resident(
        association=association,
        group=association.groups[0],
        registered_at=clock.now(),
        consent_version="notice-test",
        consented_at=clock.now(),
        follow_changed_at=clock.now(),
        blocked_at=None,
    )
    other = make_resident(association=association)
    circular = make_circular(author=make_staff(Role.admin), question="出席しますか")
    circular.options = [AnswerOption(position=1, label="出席")]
    session.flush()
    session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
    session.add(Open(circular_id=circular.id, resident_id=resident.id, opened_at=clock.now()))
    session.add(
        Acknowledgement(
            circular=circular,
            resident=resident,
            channel=Channel.line,
            answer_option_id=circular.options[0].id,
            answered_at=clock.now(),
        )
    )
    household = Household(
        label="1班 山田（12-3）",
        label_set_by_id=circular.author_id,
        label_set_at=clock.now(),
    )
    session.add(household)
    session.add(LabelRequest(resident_id=resident.id, label="山田", requested_at=clock.now()))
    session.flush()
    session.add(HouseholdMember(resident_id=resident.id, household_id=household.id))
    session.add(HouseholdMember(resident_id=other.id, household_id=household.id))
    session.add(
        HouseholdInvite(
            household_id=household.id,
            code_hash="0" * 64,
            created_by_id=resident.id,
            expires_at=clock.now() + timedelta(days=3),
        )
    )
    session.add(WatchOverOptOut(resident_id=resident.id))
    session.add(ArchiveSearch(resident_id=resident.id, word="夏祭り"))
    session.add(AnswerPrompt(resident_id=resident.id, circular_id=circular.id))
    club = InterestGroup(association_id=association.id, name="老人会", join_code="ABCD2345")
    session.add(club)
    session.flush()
    session.add(InterestMembership(interest_group_id=club.id, resident_id=resident.id))
    session.add(Conversation(resident_id=resident.id, step=ConversationStep.district))
    session.add(DistrictWelcome(district_id=district.id, resident_id=resident.id))
    # What they wrote to their association, and an officer's answer.
    assert writing.write(session, clock, resident, "街灯が切れています") == "sent"
    thread = session.scalars(select(InboxThread)).one()
    session.add(
        InboxMessage(thread_id=thread.id, answered_by_id=circular.author_id, body="なおします")
    )
    session.commit()
    return resident


def test_export_lists_every_field_docs_privacy_names(
    app: Flask, session: Session, everything: Resident
) -> None:
    result = run(app, "residents", "export", everything.line_user_id)
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    for table, column in documented_fields():
        assert table in exported, f"{table} missing from the export"
        rows = exported[table]
        for row in rows if isinstance(rows, list) else [rows]:
            assert column in row, f"{table}.{column} named in docs/privacy.md, not exported"
        if isinstance(rows, list) and table not in ("staff_members", "staff_roles"):
            assert rows, f"the fixture gives {table} a row"
    assert exported["residents"]["display_name"] == everything.display_name
    assert exported["acknowledgements"][0]["answer_label"] == "出席"
    assert exported["archive_searches"][0]["word"] == "夏祭り"
    assert exported["households"][0]["label"] == "1班 山田（12-3）"
    assert exported["label_requests"][0]["label"] == "山田"
    assert [m["body"] for m in exported["inbox_messages"]] == ["街灯が切れています", "なおします"]
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "resident.exported",
        "resident",
        everything.id,
    )
    assert entry.actor_id is None and entry.details == {}


def test_docs_privacy_names_every_column_of_the_resident() -> None:
    documented = {column for table, column in documented_fields() if table == "residents"}
    assert {column.key for column in Resident.__table__.columns} <= documented


def text_columns_holding(session: Session, value: str) -> list[str]:
    """Every table's text (and JSON) columns that contain `value`."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            hits = session.scalar(
                select(func.count())
                .select_from(table)
                .where(cast(column, Text).contains(value, autoescape=True))
            )
            if hits:
                found.append(f"{table.name}.{column.name}")
    return found


def test_erase_leaves_no_name_or_line_id_anywhere_and_keeps_the_statistics(
    app: Flask, session: Session, sent: Sent
) -> None:
    roles = session.scalars(select(StaffRole).where(StaffRole.staff_member_id == sent.admin.id))
    city = Scope.of(sent.admin.id, roles.all())
    before = summary(session, sent.circular.id, city)
    # A resident who was delivered to, opened and confirmed with an answer (1班 of X).
    resident = session.scalars(select(Resident).where(Resident.display_name == "一班0")).one()
    line_user_id, name, resident_id = resident.line_user_id, "一班0", resident.id
    assert text_columns_holding(session, line_user_id) == ["residents.line_user_id"]
    session.commit()

    result = run(app, "residents", "erase", line_user_id, "--yes")
    assert result.exit_code == 0, result.output
    assert f"住民 {resident_id} を匿名にしました" in result.output
    session.expire_all()

    assert text_columns_holding(session, line_user_id) == []
    assert text_columns_holding(session, name) == []
    assert summary(session, sent.circular.id, city) == before
    erased = session.get_one(Resident, resident_id)
    assert erased.anonymised_at is not None and erased.follow_status is FollowStatus.blocked
    assert session.scalar(select(func.count()).where(Acknowledgement.resident_id == resident_id))
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.subject_id, entry.details) == ("resident.erased", resident_id, {})
    # The id answers to nobody any more: a second request says so in one line.
    again = run(app, "residents", "erase", line_user_id, "--yes")
    assert again.exit_code == 2 and "No resident has this LINE user id" in again.output


def test_erase_is_refused_while_the_account_is_staff(
    app: Flask,
    session: Session,
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
) -> None:
    officer = make_staff(Role.admin)
    make_resident(line_user_id=officer.line_user_id)
    session.commit()
    result = run(app, "residents", "erase", officer.line_user_id, "--yes")
    assert result.exit_code == 2
    assert "remove its roles first" in result.output
    assert session.scalars(select(AuditEntry)).all() == []


def test_erase_removes_the_household_membership_but_not_the_household(
    session: Session, clock: FakeClock, everything: Resident
) -> None:
    privacy.erase(session, clock, everything)
    session.commit()
    assert session.get(HouseholdMember, everything.id) is None
    assert session.scalar(select(func.count()).select_from(HouseholdMember)) == 1
    assert session.get(ArchiveSearch, everything.id) is None
    assert session.get(AnswerPrompt, everything.id) is None
    assert session.get(Conversation, everything.id) is None
    # Their interest groups go too; the groups stay.
    assert session.scalar(select(func.count()).select_from(InterestMembership)) == 0
    assert session.scalar(select(func.count()).select_from(InterestGroup)) == 1


# --- the retention period, run by the clock ----------------------------------------------------


def test_the_clock_anonymises_residents_blocked_longer_than_the_retention_period(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    make_resident: Callable[..., Resident],
) -> None:
    start = clock.now()
    blocked = make_resident(follow_status=FollowStatus.blocked, blocked_at=start)
    later = make_resident(follow_status=FollowStatus.blocked, blocked_at=start + timedelta(days=10))
    following = make_resident()
    names = {r.id: r.display_name for r in (blocked, later, following)}
    session.commit()
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(
            quiet_hours=QuietHours.parse("21:00-08:00"),
            dashboard_url="https://kairan.test/dashboard/",
            retention=timedelta(days=180),
        ),
        holder="clock-privacy",
    )

    clock.advance(days=179)
    assert clockwork.tick().anonymised == []
    clock.advance(days=2)
    assert clockwork.tick().anonymised == [blocked.id]
    clock.advance(days=9)  # `later` blocked exactly 180 days ago: not yet
    assert clockwork.tick().anonymised == []
    clock.advance(hours=1)
    assert clockwork.tick().anonymised == [later.id]
    # Idempotent: nothing left, however often it runs.
    assert clockwork.tick().anonymised == []
    session.expire_all()
    for resident_id in (blocked.id, later.id):
        row = session.get_one(Resident, resident_id)
        assert row.display_name is None and row.line_user_id.startswith("X")
        assert text_columns_holding(session, names[resident_id] or "") == []
    kept = session.get_one(Resident, following.id)
    assert kept.display_name == names[following.id] and kept.anonymised_at is None


def test_a_resident_who_came_back_is_not_anonymised(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_resident: Callable[..., Resident],
) -> None:
    resident = make_resident(follow_status=FollowStatus.blocked, blocked_at=clock.now())
    session.commit()
    resident.follow_status = FollowStatus.following
    session.commit()
    clock.advance(days=365)
    assert privacy.anonymise_blocked(session, clock, timedelta(days=180)) == []


# --- the dashboard ------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.admin, 200),
        (Role.promoter, 404),
        (Role.officer, 404),
        (Role.group_leader, 404),
        (None, 403),
        ("anonymous", 302),
    ],
)
def test_only_admins_open_the_privacy_page(
    role: Role | str | None,
    status: int,
    session: Session,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
    make_association: Callable[..., Association],
) -> None:
    association = make_association(groups=("1班",))
    scopes: dict[Role, dict[str, int]] = {
        Role.admin: {},
        Role.promoter: {"district_id": association.district_id},
        Role.officer: {"association_id": association.id},
        Role.group_leader: {"group_id": association.groups[0].id},
    }
    member = None
    if isinstance(role, Role):
        member = make_staff(role, **scopes[role])
    elif role is None:
        member = make_staff(Role.admin)
        session.execute(StaffRole.__table__.delete())
    assert dashboard_client(member).get("/dashboard/privacy").status_code == status
    for action in ("export", "erase"):
        # A fresh login each: a viewer without roles is logged out by the refusal.
        posted = dashboard_client(member).post(
            f"/dashboard/privacy/{action}", data={"line_user_id": "U1"}
        )
        # Admins without a CSRF token: 400.
        assert posted.status_code == (400 if role is Role.admin else status)


def test_an_admin_exports_and_erases_from_the_dashboard(
    session: Session,
    dashboard_client: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
    everything: Resident,
) -> None:
    admin = make_staff(Role.admin)
    client = dashboard_client(admin)
    line_user_id, resident_id = everything.line_user_id, everything.id
    token = _csrf(client.get("/dashboard/privacy").get_data(as_text=True))

    exported = client.post(
        "/dashboard/privacy/export", data={"csrf_token": token, "line_user_id": line_user_id}
    )
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    assert exported.json["residents"]["line_user_id"] == line_user_id

    unconfirmed = client.post(
        "/dashboard/privacy/erase", data={"csrf_token": token, "line_user_id": line_user_id}
    )
    assert unconfirmed.status_code == 400
    erased = client.post(
        "/dashboard/privacy/erase",
        data={"csrf_token": token, "line_user_id": line_user_id, "confirm": "y"},
        follow_redirects=True,
    )
    assert erased.status_code == 200
    assert f"住民 #{resident_id} の個人情報を消しました" in erased.get_data(as_text=True)
    unknown = client.post(
        "/dashboard/privacy/export", data={"csrf_token": token, "line_user_id": line_user_id}
    )
    assert unknown.status_code == 404
    session.expire_all()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.subject_id) for e in entries] == [
        ("resident.exported", admin.id, resident_id),
        ("resident.erased", admin.id, resident_id),
    ]
    audit_page = client.get("/dashboard/audit").get_data(as_text=True)
    assert f"#{resident_id}" in audit_page and line_user_id not in audit_page


def test_erase_takes_the_household_label_and_the_request_with_it(
    app: Flask, session: Session, everything: Resident
) -> None:
    # The label may carry the resident's name: erasing them clears it for the whole household.
    assert sorted(text_columns_holding(session, "山田")) == [
        "households.label",
        "label_requests.label",
    ]
    result = run(app, "residents", "erase", everything.line_user_id, "--yes")
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert text_columns_holding(session, "山田") == []
    assert session.get(LabelRequest, everything.id) is None


def test_erase_takes_what_they_wrote_to_their_association(
    app: Flask, session: Session, everything: Resident
) -> None:
    result = run(app, "residents", "erase", everything.line_user_id, "--yes")
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert text_columns_holding(session, "街灯が切れています") == []
    assert text_columns_holding(session, "なおします") == []
    assert session.scalars(select(InboxThread)).all() == []
