"""A promoter composes a circular in LINE, end to end through the simulator: guided steps, a
photo, targets across associations and groups, a question, the preview, 「送信」; then exactly the
targeted residents get one card each, and a resident's 「確認しました」 and opening of their own
detail link are each recorded once."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.composing import sessions as compose_sessions
from broadcasts.core.clock import TOKYO, SystemClock
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import db, line
from models import (
    Acknowledgement,
    Association,
    Circular,
    CircularStatus,
    ComposeSession,
    District,
    FollowStatus,
    Open,
    QuestionKind,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import last
from tests.helpers.servers import serving_line


@pytest.fixture
def bot(app: Flask, sim: SimulatorClient, upload_dir: object) -> Iterator[str]:
    with serving_line(app, sim) as base:
        yield base


def chips(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    items = message.get("quickReply", {}).get("items", [])
    return {item["action"]["label"]: item["action"] for item in items}


def tap(sim: SimulatorClient, user: str, label: str) -> dict[str, Any]:
    action = chips(last(sim, user))[label]
    sim.postback(user, action["data"], display_text=label)
    return last(sim, user)


def say(sim: SimulatorClient, user: str, text: str) -> dict[str, Any]:
    sim.text(user, text)
    return last(sim, user)


def staff_user(session: Session, sim: SimulatorClient, name: str, role: Role, **scope: int) -> str:
    user = sim.create_user(name)
    sim.follow(user)
    member = StaffMember(line_user_id=user, display_name=name)
    member.roles.append(StaffRole(role=role, **scope))
    session.add(member)
    session.commit()
    return user


@pytest.fixture
def town(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
) -> dict[str, Any]:
    hirano = make_district(name="平野校区", kana="ひらの")
    other = make_district(name="東校区", kana="ひがし")
    areas = {
        "hirano": hirano,
        "sakura": make_association(
            district=hirano, name="桜町内会", kana="さくら", groups=("1班", "2班")
        ),
        "momo": make_association(district=hirano, name="桃町内会", kana="もも"),
        "kaede": make_association(district=hirano, name="楓町内会", kana="かえで"),
        "east": make_association(district=other, name="東町内会", kana="ひがし"),
    }
    session.commit()  # the bot writes from its own thread: SQLite must not be locked by us
    return areas


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 260), "orange").save(out, "PNG")
    return out.getvalue()


def test_a_promoter_composes_previews_and_sends_in_line(
    bot: str,
    app: Flask,
    sim: SimulatorClient,
    session: Session,
    town: dict[str, Any],
    make_line_residents: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quiet_now(app, monkeypatch, on=False)  # whatever the time of day: 「送信」 sends at once
    sakura, momo = town["sakura"], town["momo"]
    group1, group2 = sakura.groups
    in_group1 = make_line_residents(2, sakura, group1)
    in_group2 = make_line_residents(1, sakura, group2)
    in_momo = make_line_residents(3, momo)
    in_kaede = make_line_residents(1, town["kaede"])
    in_east = make_line_residents(1, town["east"])
    session.commit()
    sim.block(in_momo[2])  # blocks the bot before the circular: gets nothing
    promoter = staff_user(session, sim, "推進員さん", Role.promoter, district_id=town["hirano"].id)

    assert "題名を送ってください" in say(sim, promoter, "回覧作成")["text"]
    assert "本文を送ってください" in say(sim, promoter, "秋祭りのお知らせ")["text"]
    say(sim, promoter, "10月5日に公園で秋祭りを行います。")
    assert "本文を受け取りました" in say(sim, promoter, "雨天決行です。")["text"]
    assert "写真があれば" in tap(sim, promoter, "次へ")["text"]
    sim.image(promoter, png(), "image/png")
    assert "写真を受け取りました（1枚）" in last(sim, promoter)["text"]

    targets = tap(sim, promoter, "次へ")
    assert "届け先をえらんでください" in targets["text"]
    assert {"校区全体", "桜町内会›", "桃町内会", "楓町内会"} <= set(chips(targets))
    # A forged postback for another district's association changes nothing.
    sim.postback(promoter, f"cmp:t:a:{town['east'].id}")
    assert "担当の範囲外" in sim.inbox(promoter)[-2]["message"]["text"]
    groups = tap(sim, promoter, "桜町内会›")
    assert set(chips(groups)) >= {"桜町内会全体", "1班", "2班", "戻る"}
    picked = tap(sim, promoter, "1班")
    assert "✓1班" in chips(picked) and "3人" not in picked["text"]
    tap(sim, promoter, "戻る")
    chosen = tap(sim, promoter, "桃町内会")
    assert "✓桃町内会" in chips(chosen) and "（4人）" in chosen["text"]
    assert "質問" in tap(sim, promoter, "決定")["text"]

    assert "選択肢" in say(sim, promoter, "参加しますか？")["text"]
    say(sim, promoter, "参加")
    say(sim, promoter, "不参加")
    deadline_step = tap(sim, promoter, "次へ")
    picker = chips(deadline_step)["しめきりをえらぶ"]
    assert picker["type"] == "datetimepicker"
    deadline = (datetime.now(TOKYO) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    sim.postback(promoter, picker["data"], params={"datetime": deadline})
    assert "行事の日" in last(sim, promoter)["text"]
    assert "確認しました" in tap(sim, promoter, "なし")["text"]

    tap(sim, promoter, "はい")
    summary, card = (m["message"] for m in sim.inbox(promoter)[-2:])
    assert "人数：4人" in summary["text"] and "今月の残り" in summary["text"]
    assert card["type"] == "flex" and "秋祭りのお知らせ" in card["altText"]
    assert card["contents"]["hero"]["url"].startswith("https://kairan.test/files/")
    assert set(chips(card)) == {"送信", "予約", "取消"}

    assert "4人に届けます" in tap(sim, promoter, "送信")["text"]
    session.expire_all()
    circular = session.scalars(select(Circular)).one()
    assert circular.status is CircularStatus.sending
    assert session.scalar(select(func.count()).select_from(ComposeSession)) == 0

    worker = Worker(
        db.sessionmaker, line(), SystemClock(), "compose-test", public_url="https://kairan.test"
    )
    assert worker.drain() == 1
    counts = sim.inbox_counts()
    for user in [*in_group1, *in_momo[:2]]:
        assert counts.get(user) == 1, user
    for user in [*in_group2, in_momo[2], *in_kaede, *in_east]:
        assert counts.get(user, 0) == 0, user
    delivered = sim.inbox(in_group1[0])[0]["message"]
    assert delivered["contents"]["hero"] == card["contents"]["hero"]
    buttons = {
        b["action"]["label"]: b["action"]["data"]
        for b in delivered["contents"]["footer"]["contents"]
    }
    assert set(buttons) == {"参加", "不参加", "確認しました", "詳しく見る"}

    # The resident confirms (twice) and opens their own link (twice): each recorded once.
    resident = in_group1[0]
    for _ in range(2):
        sim.postback(resident, buttons["確認しました"], display_text="確認しました")
    sim.postback(resident, buttons["詳しく見る"], display_text="詳しく見る")
    link_card, text = (m["message"] for m in sim.inbox(resident)[-2:])
    assert text["text"].startswith("秋祭りのお知らせ")
    uri = link_card["contents"]["footer"]["contents"][0]["action"]["uri"]
    assert uri.startswith("https://kairan.test/c/")
    client = app.test_client()
    for _ in range(2):
        page = client.get(urlsplit(uri).path)
        assert page.status_code == 200 and "秋祭りのお知らせ" in page.get_data(as_text=True)
    photo = circular.attachments[0]
    with client.get(f"/files/{photo.storage_name}") as served:
        assert served.mimetype == "image/png"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
    assert session.scalar(select(func.count()).select_from(Open)) == 1


def test_an_officer_cannot_target_another_association_even_with_forged_postbacks(
    bot: str, sim: SimulatorClient, session: Session, town: dict[str, Any]
) -> None:
    officer = staff_user(session, sim, "役員さん", Role.officer, association_id=town["momo"].id)
    say(sim, officer, "回覧作成")
    say(sim, officer, "ごみ当番")
    say(sim, officer, "今月の当番です。")
    tap(sim, officer, "次へ")
    listed = tap(sim, officer, "なし")
    assert set(chips(listed)) == {"桃町内会", "取消"} or "桃町内会" in chips(listed)
    assert "校区全体" not in chips(listed)
    for forged in (
        f"cmp:t:a:{town['sakura'].id}",
        f"cmp:t:g:{town['sakura'].groups[0].id}",
        f"cmp:t:d:{town['hirano'].id}",
        "cmp:t:a:999999",
    ):
        sim.postback(officer, forged)
        assert "担当の範囲外" in sim.inbox(officer)[-2]["message"]["text"]
    session.expire_all()
    draft = session.scalars(select(Circular)).one()
    assert draft.targets == []
    # 「決定」 without a target is refused as well.
    sim.postback(officer, "cmp:done")
    assert "届け先をえらんでください" in sim.inbox(officer)[-2]["message"]["text"]


def test_an_officer_asks_for_a_headcount_in_line(
    bot: str, sim: SimulatorClient, session: Session, town: dict[str, Any]
) -> None:
    """Issue #20 item 5: at the options step 「人数で答える」 makes the question a headcount: no
    options, and the card carries 「回答する」."""
    officer = staff_user(session, sim, "役員さん", Role.officer, association_id=town["momo"].id)
    say(sim, officer, "回覧作成")
    say(sim, officer, "もちつき大会")
    say(sim, officer, "12月20日に公民館で。")
    tap(sim, officer, "次へ")
    tap(sim, officer, "なし")
    tap(sim, officer, "桃町内会")
    tap(sim, officer, "決定")
    asked = say(sim, officer, "何人で来ますか？")
    assert {"人数で答える", "ひとことで答える"} <= set(chips(asked))
    assert "しめきり" in tap(sim, officer, "人数で答える")["text"]
    tap(sim, officer, "なし")
    tap(sim, officer, "なし")
    tap(sim, officer, "はい")
    card = sim.inbox(officer)[-1]["message"]
    labels = [b["action"]["label"] for b in card["contents"]["footer"]["contents"]]
    assert "回答する" in labels
    session.expire_all()
    draft = session.scalars(select(Circular)).one()
    assert (draft.question_kind, draft.options) == (QuestionKind.headcount, [])


def test_a_draft_is_resumed_and_a_stale_one_discarded_with_a_notice(
    bot: str, sim: SimulatorClient, session: Session, town: dict[str, Any], clock: FakeClock
) -> None:
    officer = staff_user(session, sim, "役員さん", Role.officer, association_id=town["momo"].id)
    say(sim, officer, "回覧作成")
    say(sim, officer, "防犯パトロール")
    resumed = say(sim, officer, "回覧作成")
    assert "「防犯パトロール」があります" in resumed["text"]
    assert "本文を送ってください" in tap(sim, officer, "続ける")["text"]

    # Left for more than a day: the next message discards it and says so.
    session.expire_all()
    state = session.scalars(select(ComposeSession)).one()
    state.updated_at = datetime.now(TOKYO) - timedelta(hours=25)
    session.commit()
    sim.text(officer, "本文です")
    assert "24時間たったので消しました" in last(sim, officer)["text"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Circular)) == 0

    # The scheduler's sweep does the same for drafts nobody touches again.
    say(sim, officer, "回覧作成")
    say(sim, officer, "夏祭り")
    session.expire_all()
    clock.moment = datetime.now(TOKYO) + timedelta(hours=25)
    notices = compose_sessions.discard_stale(session, clock)
    session.commit()
    assert [n.line_user_id for n in notices] == [officer]
    assert "「夏祭り」" in notices[0].text
    assert session.scalar(select(func.count()).select_from(ComposeSession)) == 0
    assert compose_sessions.discard_stale(session, clock) == []


def test_a_resident_cannot_compose(
    bot: str, sim: SimulatorClient, session: Session, town: dict[str, Any]
) -> None:
    user = sim.create_user()
    sim.follow(user)
    assert "ICT推進員・自治会役員・管理者だけ" in say(sim, user, "回覧作成")["text"]
    sim.postback(user, "cmp:send")
    assert "今は使えません" in last(sim, user)["text"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Circular)) == 0
    resident = session.scalars(select(Resident).where(Resident.line_user_id == user)).one()
    assert resident.follow_status is FollowStatus.following


def quiet_now(app: Flask, monkeypatch: pytest.MonkeyPatch, on: bool) -> datetime:
    """KAIRAN_QUIET_HOURS set so that now is inside them (or none at all); their end."""
    now = datetime.now(TOKYO).replace(second=0, microsecond=0)
    span = (
        f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=2):%H:%M}"
        if on
        else "00:00-00:00"
    )
    configured = app.config["KAIRAN_SETTINGS"]
    monkeypatch.setitem(
        app.config, "KAIRAN_SETTINGS", configured.model_copy(update={"KAIRAN_QUIET_HOURS": span})
    )
    return now + timedelta(hours=2)


def test_in_quiet_hours_line_compose_offers_their_end_and_sends_now_only_when_asked(
    bot: str,
    app: Flask,
    sim: SimulatorClient,
    session: Session,
    town: dict[str, Any],
    make_line_residents: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A manual send in quiet hours (issue #18, item 11), in LINE as on the dashboard."""
    end = quiet_now(app, monkeypatch, on=True)
    at = f"{end.hour}:{end:%M}"
    residents = make_line_residents(2, town["momo"])
    session.commit()
    promoter = staff_user(session, sim, "推進員さん", Role.promoter, district_id=town["hirano"].id)

    def draft(title: str) -> dict[str, Any]:
        say(sim, promoter, "回覧作成")
        say(sim, promoter, title)
        say(sim, promoter, "集会所の前に集合してください。")
        tap(sim, promoter, "次へ")
        tap(sim, promoter, "次へ")
        tap(sim, promoter, "桃町内会")
        tap(sim, promoter, "決定")
        tap(sim, promoter, "なし")
        tap(sim, promoter, "なし")
        tap(sim, promoter, "はい")
        summary, card = (m["message"] for m in sim.inbox(promoter)[-2:])
        assert "住民に送らない時間帯" in summary["text"] and f"{at} に届けます" in summary["text"]
        assert set(chips(card)) == {f"{at} に送る", "今すぐ送る", "予約", "取消"}
        return card

    draft("防犯パトロールのお知らせ")
    scheduled = tap(sim, promoter, f"{at} に送る")["text"]
    assert "予約しました" in scheduled
    session.expire_all()
    first = session.scalars(select(Circular)).one()
    assert first.status is CircularStatus.scheduled
    assert first.scheduled_at == end

    draft("断水のお知らせ")
    assert "2人に届けます" in tap(sim, promoter, "今すぐ送る")["text"]
    session.expire_all()
    second = session.scalars(select(Circular).where(Circular.id != first.id)).one()
    assert second.status is CircularStatus.sending
    counts = sim.inbox_counts()
    assert [counts.get(user, 0) for user in residents] == [0, 0], "the worker sends, not compose"


def test_a_draft_whose_authors_role_was_removed_is_refused_in_japanese(
    bot: str,
    app: Flask,
    sim: SimulatorClient,
    session: Session,
    town: dict[str, Any],
    make_line_residents: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every write checks the author's current scope (issue #18, item 12)."""
    quiet_now(app, monkeypatch, on=False)
    residents = make_line_residents(2, town["momo"])
    session.commit()
    officer = staff_user(session, sim, "役員さん", Role.officer, association_id=town["momo"].id)
    say(sim, officer, "回覧作成")
    say(sim, officer, "草刈りのお知らせ")
    say(sim, officer, "日曜の朝8時に集合してください。")
    tap(sim, officer, "次へ")
    tap(sim, officer, "次へ")
    tap(sim, officer, "桃町内会")
    tap(sim, officer, "決定")
    tap(sim, officer, "なし")
    tap(sim, officer, "なし")
    tap(sim, officer, "はい")
    assert "送信" in chips(last(sim, officer))
    # The admin moves the officer from 桃 to 楓 while the draft waits.
    role = session.scalars(
        select(StaffRole).join(StaffMember).where(StaffMember.line_user_id == officer)
    ).one()
    role.association_id = town["kaede"].id
    session.commit()
    refused = tap(sim, officer, "送信")
    assert "担当の範囲外" in refused["text"]
    session.expire_all()
    assert session.scalars(select(Circular)).one().status is CircularStatus.draft
    counts = sim.inbox_counts()
    assert [counts.get(user, 0) for user in residents] == [0, 0]
