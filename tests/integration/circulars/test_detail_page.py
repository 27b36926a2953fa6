"""The detail page behind 「詳しく見る」: signed per-resident links, Open and confirm recorded once,
the public page of the QR code, attachments under unguessable names, the print view."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.targeting import Target
from broadcasts.composing import attachments, drafts
from broadcasts.composing.drafts import CircularDraft
from broadcasts.core.clock import TOKYO
from broadcasts.delivery import messages
from broadcasts.residents import acknowledgements, links
from linebot_app.chat import replies
from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    Channel,
    Circular,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    Open,
    Resident,
    Role,
    StaffMember,
)
from tests.helpers.clock import FakeClock
from tests.helpers.settings import TEST_SETTINGS
from tests.helpers.webhooks import postback_event

SECRET = TEST_SETTINGS["SECRET_KEY"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def sakura(make_association: Callable[..., Association]) -> Association:
    return make_association(name="桜町内会", paper_household_count=4)


@pytest.fixture
def officer(make_staff: Callable[..., StaffMember], sakura: Association) -> StaffMember:
    return make_staff(Role.officer, association_id=sakura.id)


@pytest.fixture
def circular(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    sakura: Association,
    upload_dir: Path,
) -> Circular:
    made = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title="防災訓練のお知らせ",
            body="12月6日 9時、公園に集合。\n\n持ち物：タオル<script>",
            targets=Target.of(associations=[sakura.id]),
        ),
    )
    attachments.add_attachment(session, made, "避難所の地図.pdf", PDF, upload_dir)
    made.status = CircularStatus.sent
    session.flush()
    return made


@pytest.fixture
def resident(
    session: Session,
    make_resident: Callable[..., Resident],
    circular: Circular,
    sakura: Association,
) -> Resident:
    made = make_resident(association=sakura)
    session.add(Delivery(circular_id=circular.id, resident_id=made.id, status=DeliveryStatus.sent))
    session.commit()
    return made


def link_for(circular: Circular, resident: Resident) -> str:
    return "/c/" + links.detail_token(SECRET, circular.id, resident.id)


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, "the page has no confirm form"
    return found.group(1)


def count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_opening_the_link_shows_everything_and_records_one_open(
    app: Flask, session: Session, circular: Circular, resident: Resident
) -> None:
    client = app.test_client()
    first = client.get(link_for(circular, resident))
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert "防災訓練のお知らせ" in page and "公園に集合" in page and "桜町内会" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    pdf = circular.attachments[0]
    assert f"/files/{pdf.storage_name}" in page and "避難所の地図.pdf" in page
    assert first.headers["Referrer-Policy"] == "no-referrer"
    assert first.headers["Cache-Control"] == "no-store"
    client.get(link_for(circular, resident))
    assert count(session, Open) == 1


def test_the_confirm_button_records_one_web_acknowledgement(
    app: Flask, session: Session, circular: Circular, resident: Resident, post_webhook: Any
) -> None:
    client = app.test_client()
    url = link_for(circular, resident)
    token = form_token(client.get(url).get_data(as_text=True))
    done = client.post(f"{url}/confirm", data={"form_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("?confirmed=1")
    assert "確認しました。ありがとうございます" in client.get(done.headers["Location"]).get_data(
        as_text=True
    )
    again = client.post(
        f"{url}/confirm", data={"form_token": token}, headers={"Origin": "https://kairan.test"}
    )
    assert again.status_code == 303
    post_webhook([postback_event(resident.line_user_id, f"ack:{circular.id}")])
    assert count(session, Acknowledgement) == 1
    assert session.scalars(select(Acknowledgement.channel)).one() is Channel.web
    assert "もう確認済み" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "data"),
    [
        ({"Origin": "https://evil.example"}, "valid"),
        ({"Sec-Fetch-Site": "cross-site"}, "valid"),
        ({}, "forged"),
        ({}, None),
    ],
)
def test_a_confirm_from_elsewhere_is_refused(
    app: Flask,
    session: Session,
    circular: Circular,
    resident: Resident,
    headers: dict[str, str],
    data: str | None,
) -> None:
    client = app.test_client()
    url = link_for(circular, resident)
    token = form_token(client.get(url).get_data(as_text=True))
    form = {"form_token": token if data == "valid" else "x" + token} if data else {}
    assert client.post(f"{url}/confirm", data=form, headers=headers).status_code == 403
    assert count(session, Acknowledgement) == 0


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        ({"Origin": "https://evil.example"}, {"option": "1"}),
        ({}, {"option": "1", "form_token": "forged"}),
        ({}, {"option": "abc"}),
        ({}, {"option": "9"}),
    ],
)
def test_an_answer_from_elsewhere_or_for_no_option_is_refused_in_japanese(
    app: Flask,
    session: Session,
    circular: Circular,
    resident: Resident,
    headers: dict[str, str],
    form: dict[str, str],
) -> None:
    circular.question = "参加しますか"
    circular.options = [
        AnswerOption(position=1, label="はい"),
        AnswerOption(position=2, label="いいえ"),
    ]
    session.commit()
    client = app.test_client()
    url = link_for(circular, resident)
    token = form_token(client.get(url).get_data(as_text=True))
    refused = client.post(f"{url}/answer", data={"form_token": token, **form}, headers=headers)
    assert refused.status_code == 403
    assert "このボタンは使えませんでした" in refused.get_data(as_text=True)
    assert count(session, Acknowledgement) == 0


def _expired_token(circular_id: int, resident_id: int) -> str:
    """A link signed 91 days ago (links last 90)."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 91 * 86400

    serializer = URLSafeTimedSerializer(SECRET, salt=links.DETAIL_SALT, signer=PastSigner)
    return str(serializer.dumps([circular_id, resident_id]))


def test_tampered_expired_and_foreign_links_get_a_friendly_404(
    app: Flask,
    session: Session,
    circular: Circular,
    resident: Resident,
    make_resident: Callable[..., Resident],
) -> None:
    client = app.test_client()
    good = links.detail_token(SECRET, circular.id, resident.id)
    stranger = make_resident()
    session.commit()
    for token in (
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        _expired_token(circular.id, resident.id),
        links.detail_token("another-secret-key-that-is-long-enough-000", circular.id, resident.id),
        links.detail_token(SECRET, circular.id, stranger.id),  # never delivered to them
        links.public_token(SECRET, circular.id),  # a public token is not a resident's
        "nonsense",
    ):
        response = client.get(f"/c/{token}")
        assert response.status_code == 404
        assert "回覧が見つかりません" in response.get_data(as_text=True)
        assert client.post(f"/c/{token}/confirm", data={}).status_code in (403, 404)
    assert count(session, Open) == 0


def test_the_public_page_records_nothing_and_has_no_button(
    app: Flask, session: Session, circular: Circular, resident: Resident
) -> None:
    client = app.test_client()
    response = client.get("/c/public/" + links.public_token(SECRET, circular.id))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "防災訓練のお知らせ" in page and "form_token" not in page
    assert count(session, Open) == 0
    forged = links.detail_token(SECRET, circular.id, resident.id)
    assert client.get(f"/c/public/{forged}").status_code == 404
    circular.status = CircularStatus.draft
    session.commit()
    assert client.get("/c/public/" + links.public_token(SECRET, circular.id)).status_code == 404


def test_attachments_are_served_only_under_their_unguessable_names(
    app: Flask, circular: Circular
) -> None:
    client = app.test_client()
    pdf = circular.attachments[0]
    response = client.get(f"/files/{pdf.storage_name}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
    for name in (
        f"{pdf.id}",
        "避難所の地図.pdf",
        pdf.storage_name[:-5] + ".pdf",
        "../kairan.sqlite3",
    ):
        assert client.get(f"/files/{name}").status_code == 404


def test_the_more_reply_carries_the_link_then_the_text() -> None:
    messages = replies.details("本文", "ja", "https://kairan.test/c/abc")
    button = messages[0].to_dict()["contents"]["footer"]["contents"][0]["action"]
    assert button == {
        "type": "uri",
        "label": "回覧のページを開く",
        "uri": "https://kairan.test/c/abc",
    }
    assert messages[1].to_dict()["text"] == "本文"


def test_the_print_view_needs_a_login_or_a_print_link(
    app: Flask,
    session: Session,
    circular: Circular,
    officer: StaffMember,
    make_staff: Callable[..., StaffMember],
    make_association: Callable[..., Association],
    dashboard_client: Callable[..., FlaskClient],
) -> None:
    anonymous = dashboard_client()
    assert anonymous.get(f"/print/{circular.id}").status_code in (302, 401, 403)
    page = dashboard_client(officer).get(f"/print/{circular.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "防災訓練のお知らせ" in html and "<svg" in html and "/c/public/" in html
    assert re.search(r"桜町内会</td><td>全体</td><td class=\"num\">4<", html)
    stranger = make_staff(Role.officer, association_id=make_association().id)
    assert dashboard_client(stranger).get(f"/print/{circular.id}").status_code == 404
    linked = app.test_client().get("/print/link/" + links.print_token(SECRET, circular.id))
    assert linked.status_code == 200
    assert app.test_client().get("/print/link/forged").status_code == 404


def test_a_correction_and_its_original_link_to_each_other(
    app: Flask,
    session: Session,
    clock: FakeClock,
    circular: Circular,
    resident: Resident,
    officer: StaffMember,
) -> None:
    fix = lifecycle.correct(
        session,
        clock,
        officer,
        circular,
        CircularDraft(title="集合場所の変更", body="公園ではなく公民館です。"),
    )
    fix.status = CircularStatus.sent
    session.add(Delivery(circular_id=fix.id, resident_id=resident.id, status=DeliveryStatus.sent))
    session.commit()
    client = app.test_client()
    original_page = client.get(link_for(circular, resident)).get_data(as_text=True)
    assert "この回覧には訂正があります" in original_page
    assert "/c/public/" + links.public_token(SECRET, fix.id) in original_page
    fix_page = client.get(link_for(fix, resident)).get_data(as_text=True)
    assert "【訂正】集合場所の変更" in fix_page and "次の回覧の訂正です" in fix_page
    assert "/c/public/" + links.public_token(SECRET, circular.id) in fix_page


def test_line_breaks_survive_on_the_card_the_preview_and_the_page(
    app: Flask,
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    sakura: Association,
    make_resident: Callable[..., Resident],
    dashboard_client: Callable[..., Any],
) -> None:
    # Three lines and a paragraph, with the line ends a browser's form posts.
    body = "12月6日 9時、公園に集合。\r\n持ち物：タオル\r\n\r\n\r\n雨の日は  中止です。"
    draft = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(title="防災訓練", body=body, targets=Target.of(associations=[sakura.id])),
    )
    session.commit()
    kept = "12月6日 9時、公園に集合。\n持ち物：タオル\n\n雨の日は 中止です。"
    card = messages.circular_card(draft).to_dict()
    assert card["contents"]["body"]["contents"][1]["text"] == kept

    preview = dashboard_client(officer).get(f"/dashboard/compose/{draft.id}/preview")
    assert f'<p class="flex-text size-md">{kept}</p>' in preview.get_data(as_text=True)

    draft.status = CircularStatus.sent
    resident = make_resident(association=sakura)
    session.add(Delivery(circular_id=draft.id, resident_id=resident.id, status=DeliveryStatus.sent))
    session.commit()
    page = app.test_client().get(link_for(draft, resident)).get_data(as_text=True)
    assert "<p>12月6日 9時、公園に集合。<br>持ち物：タオル</p>" in page
    assert "<p>雨の日は  中止です。</p>" in page
    # 「詳しく見る」 in the chat: the whole text, its lines ended as LINE's "\n", not "\r\n".
    whole = acknowledgements.read_whole(session, clock, resident, draft.id)
    assert whole == "防災訓練\n\n12月6日 9時、公園に集合。\n持ち物：タオル\n\n雨の日は  中止です。"


def test_an_address_a_resident_may_meet_never_gets_a_framework_page(
    app: Flask, session: Session, circular: Circular, resident: Resident
) -> None:
    client = app.test_client()
    url = link_for(circular, resident)
    for path in (f"{url}/", f"{url}/more", "/c/", f"{url}/confirm/x", "/files/"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "回覧が見つかりません" in page and "Not Found" not in page, path
        assert response.headers["Referrer-Policy"] == "no-referrer"
    # A form's address opened again (a restored tab): back to the page, which is still there.
    for form in ("confirm", "answer"):
        back = client.get(f"{url}/{form}")
        assert back.status_code == 303 and back.headers["Location"] == url
    # Elsewhere, the app's own answers stay as they were.
    assert "回覧が見つかりません" not in client.get("/nowhere").get_data(as_text=True)


def test_the_card_and_the_deadline_reminder_name_the_deadlines_hour(
    app: Flask,
    session: Session,
    make_circular: Callable[..., Circular],
    make_resident: Callable[..., Resident],
    sakura: Association,
) -> None:
    """A deadline at 18:00 written 「12月10日（木）」 on the card reads as the whole day: a resident
    answering that evening was refused. The card and the reminder give the hour, as the page."""
    circular = make_circular(
        question="出席しますか？",
        answer_deadline=datetime(2026, 12, 10, 18, 0, tzinfo=TOKYO),
        options=[AnswerOption(position=1, label="出席"), AnswerOption(position=2, label="欠席")],
        status=CircularStatus.sent,
    )
    card = json.dumps(messages.circular_card(circular).to_dict(), ensure_ascii=False)
    assert "回答のしめきり：12月10日（木） 18:00" in card
    reminder = json.dumps(
        messages.reminder_message(circular, "deadline").to_dict(), ensure_ascii=False
    )
    assert "回答のしめきりは 12月10日（木） 18:00 です" in reminder

    resident = make_resident(association=sakura)
    session.add(
        Delivery(circular_id=circular.id, resident_id=resident.id, status=DeliveryStatus.sent)
    )
    session.commit()
    page = app.test_client().get(link_for(circular, resident)).get_data(as_text=True)
    assert "回答のしめきり：12月10日（木） 18:00" in page


def test_an_answer_without_a_deadline_is_not_told_about_one(
    app: Flask,
    session: Session,
    clock: FakeClock,
    circular: Circular,
    resident: Resident,
) -> None:
    """「しめきりまでは変えられます」 sent a resident looking for a deadline the circular does not
    have: without one, the page and the LINE reply say the answer can be changed later."""
    circular.question = "参加しますか"
    circular.options = [
        AnswerOption(position=1, label="はい"),
        AnswerOption(position=2, label="いいえ"),
    ]
    session.commit()
    client = app.test_client()
    url = link_for(circular, resident)
    token = form_token(client.get(url).get_data(as_text=True))
    answered = client.post(f"{url}/answer", data={"form_token": token, "option": "1"})
    page = client.get(answered.headers["Location"]).get_data(as_text=True)
    assert "「はい」で受け付けました。答えは、あとから変えられます。" in page
    assert "しめきり" not in page

    result = acknowledgements.answer(session, clock, resident, circular.id, 2)
    reply = replies.answer(result, "ja")[0].to_dict()["text"]
    assert reply == "「いいえ」で受け付けました。答えは、あとから変えられます。"
