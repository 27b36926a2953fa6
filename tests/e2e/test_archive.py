"""The archive inside LINE (issue #10, item 6), end to end through the simulator's phones:
「回覧を見る」 pages through the resident's own circulars newest first, 「検索」 finds them by a
word in the title or body, each opens the detail page; forged postbacks change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    ArchiveSearch,
    Association,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    Resident,
)
from simulator.testing import SimulatorClient
from tests.helpers.conversation import choices, last, tap

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def titles(message: dict[str, Any]) -> list[str]:
    assert message["type"] == "flex", message.get("text")
    return [bubble["body"]["contents"][1]["text"] for bubble in message["contents"]["contents"]]


@pytest.fixture
def residents(
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
) -> tuple[Resident, Resident]:
    """Two registered residents who are LINE friends of the bot."""
    association = make_association(name="梅町内会")
    users = make_line_residents(2, association)
    session.commit()
    found = {
        r.line_user_id: r
        for r in session.scalars(select(Resident).where(Resident.line_user_id.in_(users)))
    }
    return found[users[0]], found[users[1]]


def sent_circular(
    session: Session,
    make_circular: Callable[..., Circular],
    to: Resident,
    n: int,
    status: DeliveryStatus = DeliveryStatus.sent,
    **fields: Any,
) -> Circular:
    """A circular released `n` days after START, its card delivered to `to` with `status`."""
    circular = make_circular(
        status=CircularStatus.sent, released_at=START + timedelta(days=n), **fields
    )
    session.add(Delivery(circular_id=circular.id, resident_id=to.id, status=status))
    # A reminder about it is one more message, not one more circular.
    session.add(Delivery(circular_id=circular.id, resident_id=to.id, slot="reminder-1"))
    session.flush()
    return circular


def test_the_archive_pages_through_the_residents_own_circulars_newest_first(
    app: Flask,
    bot: str,
    sim: SimulatorClient,
    session: Session,
    make_circular: Callable[..., Circular],
    residents: tuple[Resident, Resident],
) -> None:
    me, neighbour = residents
    mine = [
        sent_circular(session, make_circular, me, n, title=f"お知らせ{n:02d}") for n in range(20)
    ]
    sent_circular(session, make_circular, neighbour, 30, title="となりの回覧")
    sent_circular(session, make_circular, me, 31, DeliveryStatus.failed, title="届かなかった回覧")
    sent_circular(session, make_circular, me, 32, DeliveryStatus.pending, title="送信中の回覧")
    session.commit()
    newest_first = [c.title for c in reversed(mine)]

    user = me.line_user_id
    sim.text(user, "回覧を見る")
    first = last(sim, user)
    assert titles(first) == newest_first[:8]
    assert first["altText"] == "届いた回覧（1ページ目）"
    assert "前へ" not in choices(first) and choices(first)["次へ"] == "arc:p:1"
    second = tap(sim, user, "次へ")
    assert titles(second) == newest_first[8:16]
    third = tap(sim, user, "次へ")
    assert titles(third) == newest_first[16:]
    assert "次へ" not in choices(third)
    assert titles(tap(sim, user, "前へ")) == newest_first[8:16]
    # The rich menu's 「回覧を見る」 is the same first page.
    sim.postback(user, "menu:list", display_text="回覧を見る")
    assert titles(last(sim, user)) == newest_first[:8]

    # Each opens its detail page, large type included, through the resident's own link.
    details = first["contents"]["contents"][0]["footer"]["contents"][-1]["action"]
    assert details["type"] == "uri"
    page = app.test_client().get(urlsplit(details["uri"]).path)
    assert page.status_code == 200 and newest_first[0] in page.get_data(as_text=True)

    # Past the end: a plain word, not an empty carousel.
    sim.postback(user, "arc:p:9")
    assert last(sim, user)["text"] == "これより前の回覧はありません。"


def test_a_resident_searches_their_circulars_by_a_word_in_title_or_body(
    bot: str,
    sim: SimulatorClient,
    session: Session,
    make_circular: Callable[..., Circular],
    residents: tuple[Resident, Resident],
) -> None:
    me, neighbour = residents
    for n in range(16):
        title, body = (f"防災訓練{n:02d}", "公園に集合") if n % 2 else (f"お知らせ{n:02d}", "本文")
        sent_circular(session, make_circular, me, n, title=title, body=body)
    sent_circular(session, make_circular, me, 20, title="ごみの日", body="防災倉庫の前に出す")
    sent_circular(session, make_circular, neighbour, 21, title="防災（となり）")
    sent_circular(session, make_circular, me, 22, title="割引100%", body="本文")
    session.commit()
    user = me.line_user_id
    expected = ["ごみの日"] + [f"防災訓練{n:02d}" for n in range(15, 0, -2)]

    # 「検索」, then the word as the next message.
    sim.text(user, "検索")
    assert "さがしたい言葉を送ってください" in last(sim, user)["text"]
    sim.text(user, "防災")
    found = last(sim, user)
    assert titles(found) == expected[:8]
    assert found["altText"] == "「防災」の回覧（1ページ目）"
    assert titles(tap(sim, user, "次へ")) == expected[8:]

    # 「検索 ことば」 in one message, full-width space and letters too; paged with 「次へ」.
    sim.text(user, "検索　ｏ")  # NFKC: "o", in no circular
    assert last(sim, user)["text"] == "「o」の回覧は見つかりませんでした。"
    sim.text(user, "検索 お知らせ")
    assert titles(last(sim, user)) == [f"お知らせ{n:02d}" for n in range(14, -1, -2)]
    assert "次へ" not in choices(last(sim, user))
    sim.text(user, "けんさく 本文")
    page_one = last(sim, user)
    assert len(titles(page_one)) == 8 and titles(page_one)[0] == "割引100%"
    assert choices(page_one)["次へ"] == "arc:s:1"
    page_two = tap(sim, user, "次へ")
    assert titles(page_one) + titles(page_two) == ["割引100%"] + [
        f"お知らせ{n:02d}" for n in range(14, -1, -2)
    ]
    # "%" is a character, not a wildcard.
    sim.text(user, "検索 %")
    assert titles(last(sim, user)) == ["割引100%"]

    # The prompt is for the very next message only: a command in between ends it.
    sim.text(user, "検索")
    sim.text(user, "ヘルプ")
    sim.text(user, "防災")
    assert last(sim, user)["type"] == "text", "no longer a search"

    # Unregistering forgets the words searched for.
    sim.text(user, "検索 防災")
    session.expire_all()
    assert session.scalars(select(ArchiveSearch.word)).all() == ["防災"]
    sim.text(user, "登録解除")
    sim.postback(user, choices(last(sim, user))["解除する"])
    assert "登録を解除しました" in last(sim, user)["text"]
    session.expire_all()
    assert session.scalars(select(ArchiveSearch)).all() == []


def test_a_code_sent_after_search_is_still_a_code(
    bot: str, sim: SimulatorClient, session: Session, residents: tuple[Resident, Resident]
) -> None:
    inviter, joiner = residents
    sim.text(inviter.line_user_id, "家族を招待")
    code = last(sim, inviter.line_user_id)["text"]
    sim.text(joiner.line_user_id, "検索")
    assert "さがしたい言葉を送ってください" in last(sim, joiner.line_user_id)["text"]
    sim.text(joiner.line_user_id, code)
    assert "家族の世帯に入りました" in last(sim, joiner.line_user_id)["text"]


@pytest.mark.parametrize(
    "data",
    ["arc:p:01", "arc:p:-1", "arc:p:x", "arc:p:12345", "arc:s:", "arc:find:1", "arc:q:0", "arc:"],
)
def test_forged_archive_postbacks_are_refused_politely(
    bot: str,
    sim: SimulatorClient,
    session: Session,
    residents: tuple[Resident, Resident],
    data: str,
) -> None:
    user = residents[0].line_user_id
    sim.postback(user, data)
    assert "今は使えません" in last(sim, user)["text"]
    session.expire_all()
    assert session.scalars(select(ArchiveSearch)).all() == []


def test_paging_a_search_that_is_not_there_is_stale_and_a_newcomer_sees_nothing(
    bot: str,
    sim: SimulatorClient,
    session: Session,
    make_circular: Callable[..., Circular],
    residents: tuple[Resident, Resident],
) -> None:
    sent_circular(session, make_circular, residents[0], 1, title="防災訓練")
    session.commit()
    sim.postback(residents[0].line_user_id, "arc:s:1")
    assert "今は使えません" in last(sim, residents[0].line_user_id)["text"]
    newcomer = sim.create_user()
    sim.follow(newcomer)
    sim.postback(newcomer, "arc:p:0")
    assert last(sim, newcomer)["text"] == "まだ届いた回覧はありません。"
    sim.text(newcomer, "検索 防災")
    assert last(sim, newcomer)["text"] == "「防災」の回覧は見つかりませんでした。"
