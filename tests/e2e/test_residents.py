"""Residents on LINE, end to end: the simulator's phones talk to the real app over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.rollout import richmenu
from linebot_app.cli import cli
from linebot_app.extensions import line
from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    Circular,
    Delivery,
    DeliveryStatus,
    District,
    FollowStatus,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.conversation import choices, last, resident_of, tap


@pytest.fixture
def big_district(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
) -> District:
    """15 associations (more than LINE's 13 quick replies); one of them has groups."""
    district = make_district(name="平野校区", kana="ひらのこうく")
    make_district(name="東校区", kana="ひがしこうく")
    # Readings that sort before かえで, so 楓西町内会 lands on the second page.
    for n in range(1, 15):
        make_association(district=district, name=f"青葉{n:02d}町内会", kana=f"あおば{n:02d}")
    make_association(
        district=district, name="楓西町内会", kana="かえでにしちょうないかい", groups=("1班", "2班")
    )
    session.commit()
    return district


def test_a_resident_registers_with_paging_and_search_blocks_and_comes_back(
    bot: str, sim: SimulatorClient, session: Session, big_district: District
) -> None:
    user = sim.create_user("山田 花子")
    sim.follow(user)
    greeting = last(sim, user)
    assert "友だち追加ありがとうございます" in greeting["text"]
    assert set(choices(greeting)) == {"平野校区", "東校区", "やめる"}

    first_page = tap(sim, user, "平野校区")
    assert "（1/2ページ）" in first_page["text"]
    assert len(choices(first_page)) == 12  # 10 associations, 次へ, やめる
    assert "次へ" in choices(first_page) and "前へ" not in choices(first_page)
    second_page = tap(sim, user, "次へ")
    assert "（2/2ページ）" in second_page["text"]
    assert set(choices(second_page)) >= {"前へ", "やめる", "楓西町内会"}
    assert "青葉01町内会" in choices(tap(sim, user, "前へ"))

    # Typing part of the name, in katakana, finds the association by its reading.
    sim.text(user, "カエデ")
    found = last(sim, user)
    assert "「カエデ」で見つかったもの" in found["text"]
    assert set(choices(found)) == {"楓西町内会", "やめる"}
    groups = tap(sim, user, "楓西町内会")
    assert set(choices(groups)) == {"1班", "2班", "やめる"}
    confirm = tap(sim, user, "2班")
    assert "平野校区" in confirm["text"] and "楓西町内会" in confirm["text"]
    done = tap(sim, user, "はい")
    assert "登録しました" in done["text"]

    registered = resident_of(session, user)
    assert registered is not None and registered.group is not None
    assert registered.association is not None and registered.association.name == "楓西町内会"
    assert registered.group.name == "2班"
    assert registered.display_name == "山田 花子"

    sim.block(user)
    blocked = resident_of(session, user)
    assert blocked is not None and blocked.follow_status is FollowStatus.blocked
    sim.unblock(user)
    back = resident_of(session, user)
    assert back is not None and back.follow_status is FollowStatus.following
    assert back.group_id == registered.group_id
    assert "おかえりなさい" in last(sim, user)["text"]


def test_registration_can_be_cancelled_and_redone_and_removed(
    bot: str, sim: SimulatorClient, session: Session, big_district: District
) -> None:
    user = sim.create_user()
    sim.follow(user)
    assert "やめました" in tap(sim, user, "やめる")["text"]
    sim.text(user, "設定")
    tap(sim, user, "東校区")
    tap(sim, user, "やめる")
    assert resident_of(session, user) is not None
    sim.text(user, "せってい")
    tap(sim, user, "平野校区")
    tap(sim, user, "次へ")
    tap(sim, user, "楓西町内会")
    tap(sim, user, "1班")
    assert "平野校区" in choices(tap(sim, user, "やり直す"))  # back to the districts
    sim.text(user, "ひら")
    sim.text(user, "平野")
    tap(sim, user, "平野校区")
    tap(sim, user, "青葉03町内会")
    tap(sim, user, "はい")
    registered = resident_of(session, user)
    assert registered is not None and registered.association is not None
    resident_id = registered.id

    sim.text(user, "登録解除")
    assert "解除しますか" in last(sim, user)["text"]
    assert "登録を解除しました" in tap(sim, user, "解除する")["text"]
    assert resident_of(session, user) is None
    anonymous = session.get(Resident, resident_id)
    assert anonymous is not None and anonymous.display_name is None
    assert anonymous.line_user_id.startswith("X") and len(anonymous.line_user_id) == 33
    assert anonymous.follow_status is FollowStatus.blocked


def test_help_and_anything_unexpected_get_an_answer(
    bot: str, sim: SimulatorClient, big_district: District
) -> None:
    english = sim.create_user("Alex", language="en")
    sim.follow(english)
    assert "Thank you for adding" in last(sim, english)["text"]
    sim.text(english, "？？？")  # while choosing, text is a search
    assert "Nothing found" in last(sim, english)["text"]
    assert set(choices(last(sim, english))) == {"平野校区", "東校区", "Cancel"}
    tap(sim, english, "Cancel")
    for text in ("ヘルプ", "help", "？？？"):
        sim.text(english, text)
        assert set(choices(last(sim, english))) == {"Circulars", "Settings", "Help"}
    japanese = sim.create_user()
    sim.text(japanese, "こんにちは")
    assert "回覧を見る" in choices(last(sim, japanese))


def deliver(session: Session, circular: Circular, user: str) -> Resident:
    resident = resident_of(session, user)
    assert resident is not None
    session.add(
        Delivery(circular_id=circular.id, resident_id=resident.id, status=DeliveryStatus.sent)
    )
    session.commit()
    return resident


def test_confirm_once_answer_and_read_circulars(
    bot: str,
    sim: SimulatorClient,
    session: Session,
    big_district: District,
    make_circular: Callable[..., Circular],
) -> None:
    user = sim.create_user()
    sim.follow(user)
    tap(sim, user, "東校区")
    circular = make_circular(title="防災訓練", body="長い本文。" * 1500)
    other = make_circular(title="ほかの回覧")
    resident = deliver(session, circular, user)

    first = sim.postback(user, f"ack:{circular.id}")
    assert "確認しました" in last(sim, user)["text"]
    sim.redeliver(*first["webhook"]["webhookEventIds"])
    sim.redeliver(*first["webhook"]["webhookEventIds"])
    sim.postback(user, f"ack:{circular.id}")
    assert "もう確認済み" in last(sim, user)["text"]
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1

    sim.postback(user, f"more:{circular.id}")
    details = last(sim, user)["text"]
    assert details.startswith("防災訓練") and details.endswith("…")
    assert len(details.encode("utf-16-le")) // 2 == 5000

    # A circular that was never delivered to this resident: polite, and nothing changes.
    sim.postback(user, f"ack:{other.id}")
    assert "見つかりませんでした" in last(sim, user)["text"]
    sim.postback(user, "ack:abc")
    assert "今は使えません" in last(sim, user)["text"]
    session.expire_all()
    assert session.scalars(select(Acknowledgement.circular_id)).all() == [circular.id]

    # 「回覧を見る」: the latest circulars, the unconfirmed one marked and with its button, each
    # opening its detail page (the archive: tests/e2e/test_archive.py).
    question = make_circular(
        title="清掃活動",
        question="出席しますか？",
        answer_deadline=datetime.now(UTC) + timedelta(days=1),
        options=[AnswerOption(position=1, label="出席"), AnswerOption(position=2, label="欠席")],
    )
    deliver(session, question, user)
    sim.postback(user, "menu:list", display_text="回覧を見る")
    carousel = last(sim, user)
    assert carousel["type"] == "flex" and carousel["altText"] == "届いた回覧（1ページ目）"
    bubbles = carousel["contents"]["contents"]
    assert [b["body"]["contents"][1]["text"] for b in bubbles] == ["清掃活動", "防災訓練"]
    assert bubbles[0]["body"]["contents"][0]["text"] == "未確認"
    confirm, details = bubbles[0]["footer"]["contents"]
    assert confirm["action"]["data"] == f"ack:{question.id}"
    assert details["action"]["uri"].startswith("https://kairan.test/c/")

    # Answers can change until the deadline; answering also confirms.
    sim.postback(user, f"ans:{question.id}:1")
    sim.postback(user, f"ans:{question.id}:2")
    assert "「欠席」で受け付けました" in last(sim, user)["text"]
    session.expire_all()
    answered = session.scalars(
        select(Acknowledgement).where(Acknowledgement.circular_id == question.id)
    ).one()
    assert answered.resident_id == resident.id
    assert answered.answer is not None and answered.answer.label == "欠席"


def test_a_staff_member_links_their_line_account_with_an_invite(
    app: Flask, bot: str, sim: SimulatorClient, session: Session, big_district: District
) -> None:
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    result = runner.invoke(
        cli, ["staff", "invite", "--role", "promoter", "--district", big_district.code], obj=info
    )
    assert result.exit_code == 0, result.output
    code = result.output.splitlines()[0]
    assert code.startswith("KAIRAN-")
    wrong = runner.invoke(cli, ["staff", "invite", "--role", "promoter"], obj=info)
    assert wrong.exit_code != 0 and "--district" in wrong.output

    user = sim.create_user("推進員さん")
    sim.text(user, code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert "見つかりませんでした" in last(sim, user)["text"]
    sim.text(user, code.lower().replace("-", " "))
    assert "ICT推進員（平野校区）として登録しました" in last(sim, user)["text"]
    session.expire_all()
    member = session.scalars(select(StaffMember).where(StaffMember.line_user_id == user)).one()
    assert [(role.role, role.district_id) for role in member.roles] == [
        (Role.promoter, big_district.id)
    ]
    other = sim.create_user()
    sim.text(other, code)
    assert "もう使われています" in last(sim, other)["text"]


def test_line_setup_installs_the_default_rich_menu(
    app: Flask, sim: SimulatorClient, session: Session
) -> None:
    info = ScriptInfo(create_app=lambda: app)
    for _ in range(2):
        result = CliRunner().invoke(cli, ["line", "setup"], obj=info)
        assert result.exit_code == 0, result.output
    client = line()
    default = client.api.get_default_rich_menu_id().rich_menu_id
    menus = client.api.get_rich_menu_list().richmenus
    assert [menu.rich_menu_id for menu in menus] == [default]  # the first one was replaced
    assert [area.action.data for area in menus[0].areas] == [
        "menu:list",
        "menu:settings",
        "menu:help",
    ]
    assert (menus[0].size.width, menus[0].size.height) == (richmenu.WIDTH, richmenu.HEIGHT)


def test_the_registration_prompts_lead_on_after_a_wrong_code_and_fit_groups(
    bot: str, sim: SimulatorClient, big_district: District
) -> None:
    """Issue #18, item 6: nobody is left without buttons, and no prompt offers what it cannot do."""
    user = sim.create_user()
    sim.follow(user)
    # A wrong join code while choosing the district: told so, and the districts are offered again.
    sim.text(user, "ZZZZ-ZZZ9")
    wrong = last(sim, user)
    assert "見つかりませんでした" in wrong["text"] and "校区（小学校区）をえらんで" in wrong["text"]
    assert set(choices(wrong)) == {"平野校区", "東校区", "やめる"}

    # The 班 list is short and numbered: no invitation to search it by name.
    tap(sim, user, "平野校区")
    tap(sim, user, "次へ")
    groups = tap(sim, user, "楓西町内会")
    assert set(choices(groups)) == {"1班", "2班", "やめる"}
    assert "名前の一部" not in groups["text"]
    # Districts and associations still say it: their lists are long.
    sim.text(user, "やめる")
    sim.text(user, "設定")
    assert "名前の一部を送ると" in last(sim, user)["text"]

    # Outside a registration, a wrong code still leaves the menu to go on with.
    sim.text(user, "やめる")
    sim.text(user, "ZZZZ-ZZZ9")
    assert "見つかりませんでした" in last(sim, user)["text"]
    assert set(choices(last(sim, user))) == {"回覧を見る", "設定", "ヘルプ"}

    sim.text(user, "ヘルプ")
    help_text = last(sim, user)["text"]
    assert "・登録解除：登録をやめます" in help_text
    assert "：と送ると" not in help_text
