"""Delegated and bulk onboarding, terms and the April hand-over (issue #20, items 3 and 4).

Each role invites only below itself and inside its area; a CSV of staff becomes invite letters
or nothing; roles end by themselves at the end of their term; a hand-over moves a role to the
successor and leaves the predecessor's history theirs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import pytest
import zxingcpp
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.staff import invites, terms
from linebot_app.cli import cli
from linebot_app.extensions import CLOCK_EXTENSION
from models import (
    MAX_ID,
    Association,
    AuditEntry,
    Circular,
    CircularTarget,
    DashboardSession,
    District,
    Role,
    StaffInvite,
    StaffMember,
    StaffRole,
)
from tests.helpers.clock import FakeClock
from tests.helpers.webhooks import text_event

CODE = re.compile(r"KAIRAN-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


def typed(code: str) -> str:
    """What the bot reads from the code as typed (invites.CODE.typed)."""
    found = invites.CODE.typed(code)
    assert found is not None, code
    return found


@dataclass
class City:
    d1: District
    d2: District
    a1: Association  # in d1, groups 1班 2班
    a2: Association  # in d1
    b1: Association  # in d2, group 1班
    admin: StaffMember
    promoter: StaffMember  # d1
    officer: StaffMember  # a1
    leader: StaffMember  # a1 1班


@pytest.fixture
def city(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> City:
    d1 = make_district(code="D01", name="中央校区")
    d2 = make_district(code="D02", name="北校区")
    a1 = make_association(district=d1, code="A01", name="桜町自治会", groups=("1班", "2班"))
    a2 = make_association(district=d1, code="A02", name="梅町自治会")
    b1 = make_association(district=d2, code="B01", name="松町自治会", groups=("1班",))
    town = City(
        d1,
        d2,
        a1,
        a2,
        b1,
        admin=make_staff(Role.admin),
        promoter=make_staff(Role.promoter, district_id=d1.id),
        officer=make_staff(Role.officer, association_id=a1.id),
        leader=make_staff(Role.group_leader, group_id=a1.groups[0].id),
    )
    session.commit()
    return town


def _invites(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(StaffInvite)) or 0


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def token(client: Any) -> str:
    """The session's CSRF token, from the logout form every dashboard page carries."""
    return csrf(client.get("/dashboard/").get_data(as_text=True))


# --- delegation ---------------------------------------------------------------------------------

# (role, district code, association code, group name): one target in the inviters' areas and
# one outside each, for every role.
TARGETS = {
    "admin": ("admin", "", "", ""),
    "promoter d1": ("promoter", "D01", "", ""),
    "promoter d2": ("promoter", "D02", "", ""),
    "officer a1": ("officer", "", "A01", ""),
    "officer a2": ("officer", "", "A02", ""),
    "officer b1": ("officer", "", "B01", ""),
    "leader a1": ("group_leader", "", "A01", "2班"),
    "leader a2-less": ("group_leader", "", "A02", "1班"),  # no such 班: refused for all
    "leader b1": ("group_leader", "", "B01", "1班"),
}
ALLOWED = {
    "admin": set(TARGETS) - {"leader a2-less"},
    "promoter": {"officer a1", "officer a2", "leader a1"},
    "officer": {"leader a1"},
    "leader": set(),
}


@pytest.mark.parametrize("inviter", ["admin", "promoter", "officer", "leader"])
def test_each_role_invites_only_below_itself_and_inside_its_area(
    inviter: str, city: City, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(getattr(city, inviter))
    page = client.get("/dashboard/staff")
    if inviter == "leader":
        assert page.status_code == 404, "a 班長 appoints nobody: no staff page"
    else:
        assert page.status_code == 200
        offered = set(re.findall(r'<option[^>]*value="(\w+)"', page.get_data(as_text=True)))
        expected = {t[0] for key, t in TARGETS.items() if key in ALLOWED[inviter]}
        assert offered == expected, "the form offers exactly the roles the viewer may invite"
    csrf_token = token(client)
    for key, (role, district, association, group) in TARGETS.items():
        before = _invites(session)
        response = client.post(
            "/dashboard/staff/invite",
            data={
                "csrf_token": csrf_token,
                "role": role,
                "district_code": district,
                "association_code": association,
                "group_name": group,
            },
        )
        made = _invites(session) - before
        if key in ALLOWED[inviter]:
            assert response.status_code == 200 and made == 1, key
            assert CODE.search(response.get_data(as_text=True)), key
        else:
            assert made == 0, f"{inviter} must not invite {key}"
            assert response.status_code in (302, 400, 404), (key, response.status_code)


def test_the_group_leader_role_is_in_the_form_and_its_code_appoints_one(
    city: City, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(city.officer)
    html = client.get("/dashboard/staff").get_data(as_text=True)
    assert '<option value="group_leader">班長（班）</option>' in html
    response = client.post(
        "/dashboard/staff/invite",
        data={
            "csrf_token": token(client),
            "role": "group_leader",
            "association_code": "A01",
            "group_name": "2班",
            "invitee_name": "山田花子",
            "term_end": "2027-03-31",
        },
    )
    (code,) = CODE.findall(response.get_data(as_text=True))
    session.commit()  # end the test's read transaction: the view committed the code
    clock = FakeClock(datetime(2026, 12, 2, tzinfo=UTC))
    redeemed = invites.redeem(session, clock, "U" + "e" * 32, typed(code), "はな")
    assert redeemed.status == "linked" and redeemed.area == "桜町自治会 2班"
    member = session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == "U" + "e" * 32)
    ).one()
    (role,) = member.roles
    assert member.display_name == "山田花子", "staff know the name the inviter wrote"
    assert role.group_id == city.a1.groups[1].id
    assert terms.last_day(role.ends_at) == date(2027, 3, 31)
    assert role.ends_at == datetime(2027, 4, 1, tzinfo=terms.TOKYO)
    invite = session.scalars(select(StaffInvite)).one()
    assert invite.invited_by_id == city.officer.id


@pytest.mark.parametrize("action", ["remove", "hand-over"])
def test_roles_of_other_areas_and_ids_out_of_range_are_not_found(
    action: str, city: City, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    other_officer = StaffMember(line_user_id="U" + "f" * 32)
    other_officer.roles.append(StaffRole(role=Role.officer, association_id=city.b1.id))
    other_leader = StaffMember(line_user_id="U" + "d" * 32)
    other_leader.roles.append(StaffRole(role=Role.group_leader, group_id=city.a1.groups[1].id))
    session.add_all([other_officer, other_leader])
    session.flush()
    promoter = dashboard_client(city.promoter)
    officer = dashboard_client(city.officer)
    ids = {
        "other district's officer": other_officer.roles[0].id,
        "the admin": city.admin.roles[0].id,
        "a promoter (not below)": city.promoter.roles[0].id,
        "past the id columns": MAX_ID + 1,
        "far past them": 2**64,
        "no such role": 987654,
    }
    by_promoter = {"csrf_token": token(promoter)}
    by_officer = {"csrf_token": token(officer)}
    for name, role_id in ids.items():
        path = f"/dashboard/staff/roles/{role_id}/{action}"
        assert promoter.post(path, data=by_promoter).status_code == 404, name
        assert officer.post(path, data=by_officer).status_code == 404, name
        if action == "hand-over":
            assert promoter.get(path).status_code == 404, name
    # Inside the officer's association, below them: theirs to manage.
    path = f"/dashboard/staff/roles/{other_leader.roles[0].id}/{action}"
    leader = dashboard_client(city.leader)
    assert leader.post(path, data={"csrf_token": token(leader)}).status_code == 404
    assert officer.post(path, data=by_officer).status_code in (200, 302)
    session.expire_all()
    left = session.scalar(select(func.count()).select_from(StaffRole))
    assert left == (5 if action == "remove" else 6)


def test_staff_forms_refuse_a_post_without_its_csrf_token(
    city: City, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(city.promoter)
    officer_role = city.officer.roles[0].id
    invite = {"role": "officer", "association_code": "A01"}
    assert client.post("/dashboard/staff/invite", data=invite).status_code == 400
    assert client.post(f"/dashboard/staff/roles/{officer_role}/remove").status_code == 400
    assert client.post(f"/dashboard/staff/roles/{officer_role}/hand-over").status_code == 400
    csv_file = (io.BytesIO("役割,範囲コード,氏名\n役員,A01,山田\n".encode()), "staff.csv")
    upload = client.post("/dashboard/staff/import", data={"file": csv_file})
    assert upload.status_code == 400
    assert _invites(session) == 0
    good = {**invite, "csrf_token": csrf(client.get("/dashboard/staff").get_data(as_text=True))}
    assert client.post("/dashboard/staff/invite", data=good).status_code == 200
    assert _invites(session) == 1


# --- bulk onboarding and letters ----------------------------------------------------------------

GOOD_FILE = (
    "役割,範囲コード,班,氏名,任期\r\n"
    "役員,A01,,山田太郎,2027/3/31\r\n"
    "班長,A01,2班,佐藤花子,2027-03-31\r\n"
    'officer,A02,,=HYPERLINK("x"),\r\n'
)


def _upload(client: Any, data: bytes) -> Any:
    return client.post(
        "/dashboard/staff/import",
        data={"csrf_token": token(client), "file": (io.BytesIO(data), "staff.csv")},
        content_type="multipart/form-data",
    )


def _page_texts(pdf: bytes) -> list[str]:
    # pypdf reads fpdf2's two-byte glyph codes with a NUL between characters: drop it and spaces.
    return [
        re.sub(r"[\s\x00]", "", page.extract_text())
        for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_a_staff_file_from_excel_prints_one_letter_per_person(
    encoding: str,
    app: Flask,
    city: City,
    session: Session,
    dashboard_client: Callable[..., Any],
) -> None:
    response = _upload(dashboard_client(city.promoter), GOOD_FILE.encode(encoding))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/pdf"
    pdf = response.get_data()
    texts = _page_texts(pdf)
    assert len(texts) == 3, "one page per person"
    codes = [CODE.findall(text) for text in texts]
    assert all(len(found) == 1 for found in codes), codes
    assert "山田太郎様" in texts[0] and "自治会役員" in texts[0] and "桜町自治会" in texts[0]
    assert "2027年3月31日まで" in texts[0]
    assert "佐藤花子様" in texts[1] and "班長" in texts[1] and "桜町自治会2班" in texts[1]
    add_friend_url = app.config["KAIRAN_SETTINGS"].KAIRAN_ADD_FRIEND_URL
    document = pypdfium2.PdfDocument(pdf)
    for index in range(len(texts)):
        image = document[index].render(scale=2).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [add_friend_url]
    document.close()
    # The printed codes are the real ones: the first appoints 山田太郎 as 桜町's officer.
    session.commit()
    clock = FakeClock(datetime(2026, 12, 3, tzinfo=UTC))
    redeemed = invites.redeem(session, clock, "U" + "a" * 32, typed(codes[0][0]), None)
    assert redeemed.status == "linked" and redeemed.role is Role.officer
    named = session.scalars(select(StaffInvite.invitee_name).order_by(StaffInvite.id)).all()
    assert named == ["山田太郎", "佐藤花子", '=HYPERLINK("x")']


def test_a_staff_file_with_bad_rows_invites_nobody_and_names_every_bad_line(
    city: City, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    bad = (
        "role,area_code,group,name,term_end\n"
        "officer,A01,,山田太郎,2027/3/31\n"  # 2: good
        "役員,B01,,北の人,\n"  # 3: another district: not the promoter's
        "班長,A01,9班,佐藤,\n"  # 4: no such 班
        "promoter,D01,,推進員さん,\n"  # 5: not below a promoter
        "役員,A02,,,\n"  # 6: no name
        "役員,A02,,鈴木,2027/2/30\n"  # 7: no such date
        "総理,A02,,田中,\n"  # 8: no such role
        "役員,A02,,高橋,2026/1/1\n"  # 9: term already over
        "officer,A01,,山田太郎,2027/3/31\n"  # 10: repeats line 2
    )
    for data in (bad.encode("utf-8"), bad.encode("cp932")):
        response = _upload(dashboard_client(city.promoter), data)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        problems = re.search(
            r'<div class="flash error" role="alert" id="import-problems">(.*?)</div>', html, re.S
        )
        assert problems, html[:3000]
        lines = [int(n) for n in re.findall(r"<li>(\d+)行目", problems.group(1))]
        assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
        assert _invites(session) == 0, "a bad row: nothing imported"


def test_the_ending_soon_page_lists_terms_per_district_and_its_csv_is_formula_safe(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    city: City,
    session: Session,
    dashboard_client: Callable[..., Any],
) -> None:
    now = datetime.now(UTC)
    city.officer.roles[0].ends_at = now + timedelta(days=10)
    city.officer.display_name = "=cmd|' /C calc'!A0"
    city.leader.roles[0].ends_at = now + timedelta(days=40)  # later than 30 days: not listed
    far = StaffMember(line_user_id="U" + "b" * 32, display_name="北の役員")
    far.roles.append(
        StaffRole(role=Role.officer, association_id=city.b1.id, ends_at=now + timedelta(days=3))
    )
    session.add(far)
    session.commit()
    admin = dashboard_client(city.admin).get("/dashboard/staff/ending").get_data(as_text=True)
    assert admin.index("中央校区") < admin.index("北校区") or admin.index("北校区") < admin.index(
        "中央校区"
    )
    assert "北の役員" in admin and "桜町自治会" in admin and city.leader.display_name not in admin
    promoter = dashboard_client(city.promoter).get("/dashboard/staff/ending").get_data(as_text=True)
    assert "桜町自治会" in promoter and "北の役員" not in promoter, "a promoter sees their district"
    exported = dashboard_client(city.admin).get("/dashboard/staff/ending.csv")
    text = exported.get_data().decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text
    assert "\n=cmd" not in text and ",=cmd" not in text
    assert dashboard_client(city.leader).get("/dashboard/staff/ending").status_code == 404


# --- terms --------------------------------------------------------------------------------------


def test_a_role_ends_at_its_end_date_without_anyone_acting(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    city: City,
    session: Session,
    dashboard_client: Callable[..., Any],
) -> None:
    now = datetime.now(UTC)
    fake = FakeClock(now)
    monkeypatch.setitem(app.extensions, CLOCK_EXTENSION, fake)
    # The officer also leads a 班: losing one role ends every session, as removing it does.
    city.officer.roles[0].ends_at = now + timedelta(minutes=10)
    session.commit()
    client = dashboard_client(city.officer)
    assert client.get("/dashboard/staff").status_code == 200
    fake.advance(minutes=9)
    assert client.get("/dashboard/staff").status_code == 200
    fake.advance(minutes=1)
    response = client.get("/dashboard/staff")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/dashboard/").status_code == 302, "logged out for good"
    session.expire_all()
    assert (
        session.scalars(select(StaffRole).where(StaffRole.staff_member_id == city.officer.id)).all()
        == []
    )
    assert (
        session.scalar(
            select(func.count())
            .select_from(DashboardSession)
            .where(DashboardSession.staff_member_id == city.officer.id)
        )
        == 0
    )
    (ended,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "role.ended")).all()
    assert ended.actor_id is None and ended.subject_id == city.officer.id
    # No login link for a role that ended either.
    from broadcasts.staff import logins

    assert logins.staff_with_roles(session, city.officer.line_user_id, fake.now()) is None


# --- hand-over ----------------------------------------------------------------------------------


def test_an_officer_hands_over_and_keeps_no_access_while_history_stays_theirs(
    city: City,
    session: Session,
    dashboard_client: Callable[..., Any],
    make_circular: Callable[..., Circular],
) -> None:
    sent = make_circular(
        author=city.officer, title="前任の回覧", targets=[CircularTarget(association=city.a1)]
    )
    session.commit()
    predecessor = dashboard_client(city.officer)
    role_id = city.officer.roles[0].id
    form = predecessor.get(f"/dashboard/staff/roles/{role_id}/hand-over")
    assert form.status_code == 200
    csrf_token = csrf(form.get_data(as_text=True))
    page = predecessor.post(
        f"/dashboard/staff/roles/{role_id}/hand-over",
        data={"csrf_token": csrf_token, "invitee_name": "後任の木村", "term_end": "2028-03-31"},
    )
    (code,) = CODE.findall(page.get_data(as_text=True))
    # A second code for the same role replaces the first.
    again = predecessor.post(
        f"/dashboard/staff/roles/{role_id}/hand-over", data={"csrf_token": csrf_token}
    )
    (code_again,) = CODE.findall(again.get_data(as_text=True))
    session.commit()
    clock = FakeClock(datetime.now(UTC))
    assert invites.redeem(session, clock, "U" + "c" * 32, typed(code), None).status == "unknown"
    assert predecessor.get("/dashboard/").status_code == 200, "still theirs until redeemed"

    successor_id = "U" + "9" * 32
    assert (
        invites.redeem(session, clock, successor_id, typed(code_again), "きむら").status == "linked"
    )
    session.commit()
    session.expire_all()
    successor = session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == successor_id)
    ).one()
    (role,) = successor.roles
    assert (role.role, role.association_id) == (Role.officer, city.a1.id)
    assert (
        session.scalars(select(StaffRole).where(StaffRole.staff_member_id == city.officer.id)).all()
        == []
    )
    # The predecessor: no access, with the session they had open.
    assert predecessor.get("/dashboard/").status_code == 302
    assert predecessor.get(f"/dashboard/circulars/{sent.id}").status_code == 302
    # The successor sees the association's circulars; the one sent stays the predecessor's.
    successor_client = dashboard_client(successor)
    assert successor_client.get(f"/dashboard/circulars/{sent.id}").status_code == 200
    session.expire_all()
    assert session.get_one(Circular, sent.id).author_id == city.officer.id
    (handed,) = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "role.handed_over")
    ).all()
    assert handed.subject_id == city.officer.id and handed.details["successor"] == successor.id
    assert handed.actor_id == city.officer.id


def test_a_hand_over_code_still_appoints_after_the_predecessors_term_ended(
    city: City, session: Session
) -> None:
    """The April case: the code is given in March, the term ends on 31 March, the successor
    sends the code on 2 April."""
    clock = FakeClock(datetime(2027, 3, 20, tzinfo=UTC))
    role = city.officer.roles[0]
    role_id = role.id
    role.ends_at = terms.ends_at(date(2027, 3, 31))
    from broadcasts.staff.scope import Scope

    scope = Scope.of(city.officer.id, city.officer.roles)
    code = invites.hand_over(
        session, clock, scope, role, role_ends_at=terms.ends_at(date(2028, 3, 31))
    ).code
    session.commit()
    clock.moment = datetime(2027, 4, 2, tzinfo=UTC)
    assert [r.role_id for r in terms.end_due_roles(session, clock)] == [role_id]
    session.commit()
    assert invites.redeem(session, clock, "U" + "7" * 32, typed(code), None).status == "linked"
    session.commit()
    session.expire_all()
    holders = session.scalars(
        select(StaffRole.staff_member_id).where(StaffRole.association_id == city.a1.id)
    ).all()
    assert len(holders) == 1 and holders[0] != city.officer.id


def test_the_command_line_prints_letters_from_a_staff_file_and_their_codes_work_in_line(
    app: Flask,
    session: Session,
    city: City,
    tmp_path: Path,
    post_webhook: Callable[..., Any],
) -> None:
    staff_file = tmp_path / "staff.csv"
    staff_file.write_bytes(
        "役割,範囲コード,氏名,任期\r\nICT推進員,D02,北の推進員,2027/3/31\r\n".encode("cp932")
    )
    bad_file = tmp_path / "bad.csv"
    bad_file.write_bytes("役割,範囲コード,氏名\r\n推進員,D99,だれか\r\n".encode("cp932"))
    letters_file = tmp_path / "letters.pdf"
    runner = CliRunner()
    refused = runner.invoke(cli, ["staff", "import", str(bad_file), "--letters", str(letters_file)])
    assert refused.exit_code != 0 and "2行目" in refused.output and not letters_file.exists()
    result = runner.invoke(
        cli, ["staff", "import", str(staff_file), "--letters", str(letters_file)]
    )
    assert result.exit_code == 0, result.output
    (text,) = _page_texts(letters_file.read_bytes())
    assert "北の推進員様" in text and "ICT推進員" in text and "北校区" in text
    (code,) = CODE.findall(text)
    user_id = "U" + "8" * 32
    assert post_webhook([text_event(user_id, code)]).status_code == 200
    session.expire_all()
    (role,) = session.scalars(
        select(StaffRole)
        .join(StaffMember, StaffMember.id == StaffRole.staff_member_id)
        .where(StaffMember.line_user_id == user_id)
    ).all()
    assert (role.role, role.district_id) == (Role.promoter, city.d2.id)
    assert terms.last_day(role.ends_at) == date(2027, 3, 31)
