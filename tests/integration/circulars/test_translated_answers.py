"""A translation's own question and answer labels: the author gives them on the compose form,
drafts keep them, and the cards, the deadline reminder, the reply after answering and the detail
page show them to residents reading that version (the postback still carries the option's
position)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.residents import links
from broadcasts.schedule import reminders
from linebot_app.extensions import line
from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    Circular,
    CircularTranslation,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.settings import TEST_SETTINGS
from tests.helpers.webhooks import postback_event

SECRET = TEST_SETTINGS["SECRET_KEY"]
ENGLISH = Version(
    "en", "Cleanup day", "Meet at the park at 9:00.", ("I'll come", "I can't"), "Will you come?"
)


@pytest.fixture
def sakura(make_association: Callable[..., Association]) -> Association:
    return make_association(name="桜町内会")


@pytest.fixture
def officer(make_staff: Callable[..., StaffMember], sakura: Association) -> StaffMember:
    return make_staff(Role.officer, association_id=sakura.id)


def draft(sakura: Association, clock: FakeClock, *versions: Version) -> CircularDraft:
    return CircularDraft(
        title="清掃活動",
        body="日曜日の9時、公園に集合してください。",
        targets=Target.of(associations=[sakura.id]),
        question="参加しますか？",
        options=["参加", "不参加"],
        answer_deadline=clock.now() + timedelta(days=3),
        translations=versions,
    )


def body_texts(message: dict[str, Any]) -> list[str]:
    return [item["text"] for item in message["contents"]["body"]["contents"]]


def buttons(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, display text, data) of the message's answer buttons."""
    return [
        (b["action"]["label"], b["action"]["displayText"], b["action"]["data"])
        for b in message["contents"]["footer"]["contents"]
        if b["action"]["data"].startswith("ans:")
    ]


def test_residents_get_answer_buttons_and_replies_in_the_language_they_read(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    officer: StaffMember,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    post_webhook: Callable[..., Any],
) -> None:
    japanese, english = make_line_residents(2, sakura)
    session.execute(update(Resident).where(Resident.line_user_id == english).values(locale="en"))
    circular = drafts.save_draft(session, clock, officer, draft(sakura, clock, ENGLISH))
    session.commit()
    result = release(session, clock, circular, remaining_quota(line()))
    assert result.released, result.reason
    session.commit()
    worker.drain()

    ans = f"ans:{circular.id}"
    english_buttons = [("I'll come", "I'll come", f"{ans}:1"), ("I can't", "I can't", f"{ans}:2")]
    japanese_buttons = [("参加", "参加", f"{ans}:1"), ("不参加", "不参加", f"{ans}:2")]
    assert buttons(sim.inbox(english)[-1]["message"]) == english_buttons
    assert buttons(sim.inbox(japanese)[-1]["message"]) == japanese_buttons
    assert "Will you come?" in body_texts(sim.inbox(english)[-1]["message"])
    japanese_card = body_texts(sim.inbox(japanese)[-1]["message"])
    assert "参加しますか？" in japanese_card and "Will you come?" not in japanese_card

    clock.advance(days=2)
    due = reminders.DueReminder(circular.id, "deadline", clock.now() - timedelta(minutes=1))
    assert reminders.release_reminder(session, clock, due) == 2
    session.commit()
    worker.drain()
    english_reminder = sim.inbox(english)[-1]["message"]
    assert english_reminder["altText"].startswith("[Circular]")
    assert buttons(english_reminder) == english_buttons
    assert buttons(sim.inbox(japanese)[-1]["message"]) == japanese_buttons

    # The English resident taps "I can't": the second option is stored, and the reply says so.
    assert post_webhook([postback_event(english, f"{ans}:2")]).status_code == 200
    session.expire_all()
    answered = session.scalars(select(Acknowledgement)).one()
    assert answered.resident.line_user_id == english
    chosen = session.get_one(AnswerOption, answered.answer_option_id)
    assert (chosen.position, chosen.label) == (2, "不参加")
    # The test's reply token is not the simulator's: the reply is read from its request log.
    replies = sim.requests_log("/v2/bot/message/reply")
    assert replies[-1]["body"]["messages"][0]["text"].startswith(
        'Your answer "I can\'t" was received.'
    )

    # The detail page's answer buttons are in the version shown, the resident's answer pressed.
    resident = session.scalars(select(Resident).where(Resident.line_user_id == english)).one()
    token = links.detail_token(SECRET, circular.id, resident.id)
    page = app.test_client().get(f"/c/{token}").get_data(as_text=True)
    assert 'aria-pressed="false">I&#39;ll come</button>' in page and ">参加</button>" not in page
    assert 'aria-pressed="true">I can&#39;t</button>' in page
    assert "<h2>Will you come?</h2>" in page
    original = app.test_client().get(f"/c/{token}?lang=ja").get_data(as_text=True)
    assert ">参加</button>" in original and "<h2>参加しますか？</h2>" in original


def test_a_draft_round_trips_the_labels_and_a_wrong_count_is_refused(
    session: Session, clock: FakeClock, officer: StaffMember, sakura: Association
) -> None:
    circular = drafts.save_draft(session, clock, officer, draft(sakura, clock, ENGLISH))
    session.commit()
    session.expire_all()
    again = drafts.draft_of(circular)
    assert again.translations == (ENGLISH,)
    drafts.save_draft(session, clock, officer, again, circular)
    session.commit()
    assert session.scalars(select(CircularTranslation.answers)).one() == ["I'll come", "I can't"]

    with pytest.raises(CompositionError) as refused:
        drafts.save_draft(
            session, clock, officer, draft(sakura, clock, Version("en", "T", "B", ("Yes",)))
        )
    assert refused.value.field == "translation:en"
    with pytest.raises(CompositionError):
        drafts.save_draft(
            session, clock, officer, draft(sakura, clock, Version("en", "T", "B", ("a" * 21, "b")))
        )


def test_the_compose_form_takes_the_labels_and_refuses_a_wrong_count(
    session: Session,
    officer: StaffMember,
    sakura: Association,
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(officer)
    html = client.get("/dashboard/compose").get_data(as_text=True)
    assert 'name="version-en-answers"' in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    fields = {
        "csrf_token": token.group(1) if token else "",
        "title": "清掃活動",
        "body": "日曜日の9時、公園に集合。",
        "associations": [str(sakura.id)],
        "question": "参加しますか？",
        "option_1": "参加",
        "option_2": "不参加",
        "version-en-title": "Cleanup day",
        "version-en-body": "Meet at the park at 9.",
        "version-en-answers": "I'll come\nI can't\nMaybe",
        "version-en-question": "Will you come?",
    }
    refused = client.post("/dashboard/compose", data=fields)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "選択肢の訳は、選択肢と同じ2つを1行に1つ入れてください" in page
    assert "Maybe" in page
    assert session.scalar(select(func.count()).select_from(Circular)) == 0

    saved = client.post(
        "/dashboard/compose", data={**fields, "version-en-answers": "I'll come\r\nI can't\r\n"}
    )
    assert saved.status_code == 302
    session.expire_all()
    circular = session.scalars(select(Circular)).one()
    assert drafts.draft_of(circular).translations[0].answers == ("I'll come", "I can't")
    assert drafts.draft_of(circular).translations[0].question == "Will you come?"
    edit = client.get(f"/dashboard/compose/{circular.id}").get_data(as_text=True)
    assert "I&#39;ll come\nI can&#39;t</textarea>" in edit


def test_a_translated_question_needs_a_question_to_translate(
    session: Session, clock: FakeClock, officer: StaffMember, sakura: Association
) -> None:
    notice = CircularDraft(
        title="清掃活動",
        body="日曜日の9時、公園に集合してください。",
        targets=Target.of(associations=[sakura.id]),
        translations=(Version("en", "Cleanup day", "Meet at 9.", (), "Will you come?"),),
    )
    circular = drafts.save_draft(session, clock, officer, notice)
    session.commit()
    assert session.scalars(select(CircularTranslation.question)).one() is None
    assert drafts.draft_of(circular).translations[0].question == ""
    with pytest.raises(CompositionError) as refused:
        drafts.save_draft(
            session,
            clock,
            officer,
            draft(sakura, clock, Version("en", "T", "B", (), "q" * 201)),
        )
    assert refused.value.field == "translation:en"
