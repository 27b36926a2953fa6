"""Rolling out, end to end: the simulator's phones talk to the real app over HTTP.

A resident of a preparing district registers, gets no circular and is welcomed once when the
district starts; a join flyer's code and QR code work; sending the code registers in one step.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pypdf
import pypdfium2
import pytest
import zxingcpp
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.residents import join_codes
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from linebot_app.cli import cli
from linebot_app.extensions import db, line
from models import (
    Association,
    District,
    DistrictStatus,
    DistrictWelcome,
    JoinCodeFailure,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import choices, last, resident_of, tap

WELCOME = "今日から"


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def texts(sim: SimulatorClient, user: str) -> list[str]:
    return [m["message"].get("text", "") for m in sim.inbox(user)]


@pytest.fixture
def clockwork(app: Flask, clock: FakeClock, sim: SimulatorClient) -> Clockwork:
    return Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(QuietHours.parse("21:00-08:00"), "https://kairan.test/dashboard/"),
        holder="clock-rollout",
        random=lambda: 0.5,
    )


def test_a_resident_of_a_preparing_district_is_welcomed_once_when_it_starts(
    bot: str,
    app: Flask,
    sim: SimulatorClient,
    session: Session,
    clock: FakeClock,
    clockwork: Clockwork,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    district = make_district(name="若葉校区", kana="わかばこうく", status=DistrictStatus.preparing)
    make_association(district=district, name="若葉一丁目自治会")
    promoter = make_staff(Role.promoter, district=district)
    session.commit()

    user = sim.create_user("佐藤 一郎")
    sim.follow(user)
    tap(sim, user, "若葉校区")
    tap(sim, user, "若葉一丁目自治会")
    tap(sim, user, "はい")
    registered, note = texts(sim, user)[-2:]
    assert "登録しました" in registered
    assert "若葉校区では、LINEでの回覧はまだ準備中です" in note
    sim.block(user)
    sim.unblock(user)
    back, note = texts(sim, user)[-2:]
    assert "おかえりなさい" in back and "まだ準備中です" in note

    # No circular can be composed for the district while it prepares: the resident gets none.
    draft = CircularDraft(title="清掃", body="日曜の朝です", targets=Target.of([district.id]))
    with pytest.raises(CompositionError, match="準備中"):
        drafts.save_draft(session, clock, promoter, draft)
    session.rollback()

    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)

    def districts(command: str) -> str:
        result = runner.invoke(cli, ["districts", command, district.code], obj=info)
        assert result.exit_code == 0, result.output
        return result.output

    assert "1 welcome(s)" in districts("activate")
    assert "preparing" in districts("prepare")
    assert "0 welcome(s)" in districts("activate"), "activating again owes nobody a welcome"
    inbox_before = len(sim.inbox(user))

    clockwork.tick()
    clockwork.tick()
    welcomes = [text for text in texts(sim, user) if WELCOME in text]
    assert len(welcomes) == 1 and "若葉校区" in welcomes[0]
    assert len(sim.inbox(user)) == inbox_before + 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(DistrictWelcome)) == 1

    # Active now: the promoter composes for the district.
    circular = drafts.save_draft(session, clock, promoter, draft)
    assert circular.id is not None


def test_a_join_flyer_carries_its_code_and_a_readable_qr_code_and_the_code_registers(
    bot: str,
    app: Flask,
    sim: SimulatorClient,
    session: Session,
    dashboard_client: Callable[..., Any],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    association = make_association(name="桜町自治会", groups=("1班", "2班"))
    officer = make_staff(Role.officer, association=association)
    session.commit()
    group = association.groups[1]
    client = dashboard_client(officer)

    page = client.get(f"/dashboard/associations/{association.id}/join")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2班" in html
    token = {"csrf_token": csrf(html)}
    rotate = f"/dashboard/associations/{association.id}/join/rotate?group={group.id}"
    assert client.post(rotate, data=token).status_code == 302
    session.expire_all()
    code = join_codes.current(session, association, group)
    assert code is not None

    response = client.get(f"/dashboard/associations/{association.id}/flyer.pdf?group={group.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    # pypdf reads fpdf2's two-byte glyph codes with a NUL between characters: drop it and spaces.
    text = re.sub(r"[\s\x00]", "", pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert join_codes.printed(code.code) in text
    assert "桜町自治会" in text and "2班" in text
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=2).to_pil()
    decoded = [result.text for result in zxingcpp.read_barcodes(image)]
    assert decoded == [app.config["KAIRAN_SETTINGS"].KAIRAN_ADD_FRIEND_URL]

    # The resident types the code as printed, in full-width letters even: one confirmation.
    user = sim.create_user()
    sim.follow(user)
    typed = join_codes.printed(code.code).translate(
        {ord(c): ord(c) + 0xFEE0 for c in "ABCDEFGHJKMNPQRSTUVWXYZ23456789-"}
    )
    sim.text(user, typed)
    confirm = last(sim, user)
    assert "桜町自治会" in confirm["text"] and "2班" in confirm["text"]
    assert set(choices(confirm)) >= {"はい", "やめる"}
    assert "登録しました" in tap(sim, user, "はい")["text"]
    joined = resident_of(session, user)
    assert joined is not None
    assert (joined.association_id, joined.group_id) == (association.id, group.id)

    # Rotated: the old code no longer registers anyone.
    assert client.post(rotate, data=token).status_code == 302
    other = sim.create_user()
    sim.follow(other)
    sim.text(other, code.code)
    assert "見つかりませんでした" in last(sim, other)["text"]
    stranger = resident_of(session, other)
    assert stranger is not None and stranger.association_id is None


def test_wrong_codes_are_counted_and_lock_code_registration_for_the_day(
    bot: str, sim: SimulatorClient, session: Session
) -> None:
    user = sim.create_user()
    sim.follow(user)
    for _ in range(join_codes.MAX_FAILURES - 1):
        sim.text(user, "ZZZZ-ZZZ9")
        assert "見つかりませんでした" in last(sim, user)["text"]
    sim.text(user, "ZZZZ-ZZZ9")
    assert "今日はコードで登録できません" in last(sim, user)["text"]
    session.expire_all()
    resident = session.scalars(select(Resident).where(Resident.line_user_id == user)).one()
    assert resident.association_id is None


def test_leaving_and_guessing_again_does_not_reset_the_count_of_wrong_codes(
    bot: str,
    sim: SimulatorClient,
    session: Session,
    make_association: Callable[..., Association],
) -> None:
    association = make_association(name="桜町自治会")
    session.commit()
    user = sim.create_user()
    sim.follow(user)
    tap(sim, user, association.district.name)
    tap(sim, user, "桜町自治会")
    assert "登録しました" in tap(sim, user, "はい")["text"]
    for _ in range(join_codes.MAX_FAILURES - 1):
        sim.text(user, "ZZZZ-ZZZ9")
        assert "見つかりませんでした" in last(sim, user)["text"]

    # 「登録解除」 makes them a stranger to Kairan; their wrong guesses still count (issue #18).
    sim.text(user, "登録解除")
    assert "登録を解除しました" in tap(sim, user, "解除する")["text"]
    sim.text(user, "ZZZZ-ZZZ8")
    assert "今日はコードで登録できません" in last(sim, user)["text"]

    # Someone who never followed is counted as well, and kept as nothing but a hash.
    stranger = sim.create_user()
    for _ in range(join_codes.MAX_FAILURES):
        sim.text(stranger, "ZZZZ-ZZZ7")
    assert "今日はコードで登録できません" in last(sim, stranger)["text"]
    assert resident_of(session, stranger) is None
    stored = " ".join(
        str(value)
        for row in session.execute(select(JoinCodeFailure.__table__)).all()
        for value in row
    )
    assert user not in stored and stranger not in stored
