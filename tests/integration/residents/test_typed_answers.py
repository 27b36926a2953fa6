"""A headcount (人数) and a short free answer (issue #20 item 5): composed on the dashboard's
rules, answered in LINE (「回答する」, 0–9 buttons, 「10人以上」 and a typed number, a typed text)
and on the detail page, one answer per resident, counted as answered."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.messages import reminder_message
from broadcasts.delivery.worker import Worker
from broadcasts.residents import answers, links
from broadcasts.staff.scope import Scope
from broadcasts.stats import circular_counts
from linebot_app.extensions import line
from models import (
    Acknowledgement,
    Association,
    Channel,
    Circular,
    CircularStatus,
    Delivery,
    QuestionKind,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.settings import TEST_SETTINGS
from tests.helpers.webhooks import postback_event, text_event

SECRET = TEST_SETTINGS["SECRET_KEY"]


@pytest.fixture
def sakura(make_association: Callable[..., Association]) -> Association:
    return make_association(name="桜町内会")


@pytest.fixture
def officer(make_staff: Callable[..., StaffMember], sakura: Association) -> StaffMember:
    return make_staff(Role.officer, association_id=sakura.id)


def compose(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    sakura: Association,
    kind: QuestionKind,
) -> Circular:
    return drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title="もちつき大会",
            body="12月20日 10時、公民館で。",
            targets=Target.of(associations=[sakura.id]),
            question="何人で来ますか？" if kind is QuestionKind.headcount else "ご意見をどうぞ",
            question_kind=kind,
        ),
    )


def sent_out(session: Session, clock: FakeClock, worker: Worker, circular: Circular) -> None:
    session.commit()
    result = release(session, clock, circular, remaining_quota(line()))
    assert result.released, result.reason
    session.commit()
    worker.drain()


def reply(sim: SimulatorClient) -> dict[str, Any]:
    """The bot's last reply (the test's reply tokens are not the simulator's: read its log)."""
    message: dict[str, Any] = sim.requests_log("/v2/bot/message/reply")[-1]["body"]["messages"][0]
    return message


def chips(message: dict[str, Any]) -> dict[str, str]:
    items = message.get("quickReply", {}).get("items", [])
    return {item["action"]["label"]: item["action"]["data"] for item in items}


def answer_of(session: Session, circular: Circular) -> Acknowledgement:
    session.expire_all()
    return session.scalars(
        select(Acknowledgement).where(Acknowledgement.circular_id == circular.id)
    ).one()


def test_a_resident_answers_a_headcount_in_line(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    officer: StaffMember,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    post_webhook: Callable[..., Any],
) -> None:
    (user,) = make_line_residents(1, sakura)
    circular = compose(session, clock, officer, sakura, QuestionKind.headcount)
    sent_out(session, clock, worker, circular)
    card = sim.inbox(user)[-1]["message"]
    buttons = {
        b["action"]["label"]: b["action"]["data"] for b in card["contents"]["footer"]["contents"]
    }
    assert buttons["回答する"] == f"say:{circular.id}"
    assert card["altText"].endswith("（回答をお願いします）")

    post_webhook([postback_event(user, f"say:{circular.id}")])
    asked = reply(sim)
    assert asked["text"].startswith("何人ですか。")
    offered = chips(asked)
    assert list(offered) == [f"{n}人" for n in range(10)] + ["10人以上"]

    post_webhook([postback_event(user, offered["3人"])])
    assert answer_of(session, circular).answer_count == 3
    assert reply(sim)["text"].startswith("3人で受け付けました。")
    # A button answered: the next text is not taken for a headcount.
    post_webhook([text_event(user, "7")])
    assert answer_of(session, circular).answer_count == 3

    post_webhook([postback_event(user, offered["10人以上"])])
    assert "数字で送ってください" in reply(sim)["text"]
    post_webhook([text_event(user, "25人")])
    assert "0から20まで" in reply(sim)["text"] and chips(reply(sim))
    post_webhook([text_event(user, "１２人")])
    assert reply(sim)["text"].startswith("12人で受け付けました。")
    post_webhook([text_event(user, "ありがとう")])
    acknowledgement = answer_of(session, circular)
    assert (acknowledgement.answer_count, acknowledgement.answer_option_id) == (12, None)
    counts = circular_counts.summary(session, circular.id, Scope.of_member(officer))
    assert (counts.confirmed, counts.answered) == (1, 1)


def test_a_resident_answers_a_free_text_in_line(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    officer: StaffMember,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    post_webhook: Callable[..., Any],
) -> None:
    user, other = make_line_residents(2, sakura)
    circular = compose(session, clock, officer, sakura, QuestionKind.text)
    sent_out(session, clock, worker, circular)

    post_webhook([postback_event(user, f"say:{circular.id}")])
    assert reply(sim)["text"] == "答えを文字で送ってください（200文字まで）。"
    post_webhook([text_event(user, "あ" * 201)])
    assert "200文字まで" in reply(sim)["text"]
    post_webhook([text_event(user, "=1+1 駐車場はありますか")])
    assert reply(sim)["text"].startswith("答えを受け付けました。")
    assert answer_of(session, circular).answer_text == "=1+1 駐車場はありますか"
    assert (
        session.scalars(select(Delivery.answered).where(Delivery.circular_id == circular.id))
        .all()
        .count(True)
        == 1
    )

    # A word the bot knows still means what it says, and uses the wait up.
    post_webhook([postback_event(other, f"say:{circular.id}")])
    post_webhook([text_event(other, "ヘルプ")])
    assert reply(sim)["text"].startswith("回覧板のLINEです。")
    post_webhook([text_event(other, "これは答えではない")])
    session.expire_all()
    assert len(session.scalars(select(Acknowledgement)).all()) == 1

    # A headcount tap or a choice on a free-text question is no answer.
    post_webhook([postback_event(other, f"cnt:{circular.id}:2")])
    post_webhook([postback_event(other, f"ans:{circular.id}:1")])
    session.expire_all()
    assert len(session.scalars(select(Acknowledgement)).all()) == 1


def test_the_detail_page_takes_a_headcount_and_a_text(
    app: Flask,
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    sakura: Association,
    make_resident: Callable[..., Resident],
) -> None:
    resident = make_resident(association=sakura)
    client = app.test_client()
    for kind, field, value, bad, shown in (
        (QuestionKind.headcount, "count", "4", "21", "4人"),
        (QuestionKind.text, "text", "<b>車いす</b>で行きます", "x" * 201, "&lt;b&gt;車いす"),
    ):
        circular = compose(session, clock, officer, sakura, kind)
        circular.status = CircularStatus.sent
        session.add(Delivery(circular_id=circular.id, resident_id=resident.id))
        session.commit()
        url = "/c/" + links.detail_token(SECRET, circular.id, resident.id)
        page = client.get(url).get_data(as_text=True)
        token = re.search(r'name="form_token" value="([^"]+)"', page)
        assert token and f'name="{field}"' in page
        refused = client.post(f"{url}/answer", data={"form_token": token[1], field: bad})
        assert "answered=invalid" in refused.headers["Location"]
        forged = client.post(f"{url}/answer", data={"form_token": "forged", field: value})
        assert forged.status_code == 403
        done = client.post(f"{url}/answer", data={"form_token": token[1], field: value})
        assert done.status_code == 303
        assert shown in client.get(done.headers["Location"]).get_data(as_text=True)
        acknowledgement = answer_of(session, circular)
        assert (acknowledgement.answer_count, acknowledgement.answer_text) == (
            (4, None) if field == "count" else (None, "<b>車いす</b>で行きます")
        )


def test_the_rules_of_a_question_kind(
    session: Session, clock: FakeClock, officer: StaffMember, sakura: Association
) -> None:
    base = CircularDraft(
        title="t", body="b", targets=Target.of(associations=[sakura.id]), question="何人？"
    )
    with pytest.raises(CompositionError) as refused:
        drafts.save_draft(
            session,
            clock,
            officer,
            CircularDraft(
                **{**base.__dict__, "question_kind": QuestionKind.text, "options": ["a", "b"]}
            ),
        )
    assert refused.value.field == "options"
    saved = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(**{**base.__dict__, "question_kind": QuestionKind.headcount}),
    )
    assert (saved.question_kind, saved.options) == (QuestionKind.headcount, [])
    # No question: the kind falls back to a choice.
    plain = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(**{**base.__dict__, "question": None, "question_kind": QuestionKind.text}),
    )
    assert plain.question_kind is QuestionKind.choice
    assert answers.read_count("２０名") == 20 and answers.read_count("21") is None
    assert answers.read_count("三人") is None and answers.clean_text("  ") is None


def test_the_database_keeps_a_headcount_in_range(
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    resident = make_resident()
    circular = make_circular()
    session.add(
        Acknowledgement(
            circular_id=circular.id,
            resident_id=resident.id,
            channel=Channel.line,
            answer_count=21,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_the_compose_form_asks_for_a_free_answer_with_its_csrf_token(
    app: Flask,
    session: Session,
    officer: StaffMember,
    sakura: Association,
    dashboard_client: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = dashboard_client(officer)
    shown = client.get("/dashboard/compose").get_data(as_text=True)
    assert 'name="question_kind"' in shown and 'value="headcount"' in shown
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', shown)
    assert token
    form = {
        "title": "自治会への意見",
        "body": "ご意見をお寄せください。",
        "question": "ご意見は？",
        "question_kind": "text",
        "confirmation_required": "y",
        "associations": [str(sakura.id)],
    }
    assert client.post("/dashboard/compose", data=form).status_code == 400  # no CSRF token
    assert session.scalars(select(Circular)).all() == []
    posted = client.post("/dashboard/compose", data={**form, "csrf_token": token[1]})
    assert posted.status_code == 302
    session.expire_all()
    saved = session.scalars(select(Circular)).one()
    assert (saved.question_kind, saved.options) == (QuestionKind.text, [])
    # A kind the form never offered is refused, and saves nothing.
    forged = client.post(
        "/dashboard/compose", data={**form, "question_kind": "poll", "csrf_token": token[1]}
    )
    assert forged.status_code == 400
    session.expire_all()
    assert len(session.scalars(select(Circular)).all()) == 1


def test_the_deadline_reminder_of_a_headcount_carries_the_answer_button(
    session: Session, clock: FakeClock, officer: StaffMember, sakura: Association
) -> None:
    circular = compose(session, clock, officer, sakura, QuestionKind.headcount)
    circular.answer_deadline = clock.now() + timedelta(days=2)
    message = reminder_message(circular, "deadline").to_dict()
    datas = [b["action"]["data"] for b in message["contents"]["footer"]["contents"]]
    assert f"say:{circular.id}" in datas
