"""Composing on the web (issue #6): the form, uploads, preview, send, schedule, cancel, scope."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import TOKYO
from broadcasts.delivery.worker import Worker
from models import (
    Association,
    Attachment,
    AttachmentKind,
    Circular,
    CircularStatus,
    Delivery,
    District,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 26), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


@dataclass
class Town:
    district: District
    other_district: District
    x: Association
    x2: Association
    y: Association
    promoter: StaffMember
    officer_x: StaffMember
    x_users: list[str]
    x2_users: list[str]
    y_users: list[str]


@pytest.fixture
def town(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_line_residents: Callable[..., list[str]],
) -> Town:
    district = make_district(name="東校区")
    other = make_district(name="西校区")
    x = make_association(district=district, name="X町内会", groups=("1班", "2班"))
    x2 = make_association(district=district, name="X2町内会")
    y = make_association(district=other, name="Y町内会")
    town = Town(
        district=district,
        other_district=other,
        x=x,
        x2=x2,
        y=y,
        promoter=make_staff(Role.promoter, district_id=district.id),
        officer_x=make_staff(Role.officer, association_id=x.id),
        x_users=make_line_residents(3, x),
        x2_users=make_line_residents(2, x2),
        y_users=make_line_residents(4, y),
    )
    session.commit()
    return town


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _form(token: str, **fields: Any) -> dict[str, Any]:
    return {
        "csrf_token": token,
        "title": "防災訓練のお知らせ",
        "body": "10月の第2日曜日、朝9時に公園に集合してください。",
        "confirmation_required": "y",
        **fields,
    }


def _circulars(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Circular)) or 0


def test_a_promoter_composes_with_attachments_previews_and_sends(
    town: Town,
    session: Session,
    dashboard_client: Callable[..., Any],
    upload_dir: Path,
    sim: SimulatorClient,
    worker: Worker,
    csrf_on: None,
) -> None:
    client = dashboard_client(town.promoter)
    listing = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/compose"' in listing
    page = client.get("/dashboard/compose")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The tree: the promoter's district and its associations with live counts; not the other.
    assert "X町内会" in html and "X2町内会" in html and "Y町内会" not in html
    assert f'name="districts" value="{town.district.id}" data-recipients="5"' in html
    assert f'name="associations" value="{town.x.id}" data-recipients="3"' in html
    assert 'id="live-total"' in html and "picker.js" in html
    for name in ("title", "body", "question", "answer_deadline", "event_date", "files"):
        assert f'for="{name}"' in html, f"no label for {name}"

    response = client.post(
        "/dashboard/compose",
        data=_form(
            _csrf(html),
            associations=[str(town.x.id), str(town.x2.id)],
            question="参加しますか？",
            option_1="参加",
            option_2="不参加",
            urgent="y",
            files=[(io.BytesIO(PDF), "案内.pdf"), (io.BytesIO(_png()), "map.png")],
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    circular = session.scalars(select(Circular)).one()
    assert response.headers["Location"].endswith(f"/dashboard/compose/{circular.id}/preview")
    assert circular.status is CircularStatus.draft and circular.urgent
    assert [option.label for option in circular.options] == ["参加", "不参加"]
    pdf, png = sorted(circular.attachments, key=lambda a: a.position)
    assert (pdf.kind, png.kind) == (AttachmentKind.pdf, AttachmentKind.image)
    assert (upload_dir / pdf.storage_name).read_bytes() == PDF

    sim.set_quota(100, used=10)
    preview = client.get(response.headers["Location"])
    shown = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert re.search(r'id="recipients">5<', shown)
    assert re.search(r'id="quota-needed">5<', shown)
    assert re.search(r'id="quota-remaining">\s*<span class="big">90<', shown)
    assert re.search(r'id="quota-after">85<', shown)
    # The card as residents see it: title, buttons, and the photo as its hero.
    assert 'class="bubble"' in shown and "防災訓練のお知らせ" in shown
    assert "参加" in shown and "不参加" in shown
    assert f'class="hero" src="/files/{png.storage_name}"' in shown

    # The PDF only through its unguessable name.
    files = dashboard_client()
    served = files.get(f"/files/{pdf.storage_name}")
    assert served.status_code == 200 and served.data == PDF
    served.close()
    assert files.get("/files/" + "A" * 43 + ".pdf").status_code == 404
    assert files.get("/files/案内.pdf").status_code == 404

    sent = client.post(f"/dashboard/compose/{circular.id}/send", data={"csrf_token": _csrf(shown)})
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/dashboard/circulars/{circular.id}")
    worker.drain()
    session.expire_all()
    assert session.get_one(Circular, circular.id).status in (
        CircularStatus.sending,
        CircularStatus.sent,
    )
    targeted = set(town.x_users + town.x2_users)
    got = set(
        session.scalars(
            select(Resident.line_user_id)
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.circular_id == circular.id)
        )
    )
    assert got == targeted
    inboxes = sim.inbox_counts()
    assert {user for user, count in inboxes.items() if count} == targeted

    # The sent circular's page offers a correction, which reaches the same residents.
    stats_page = client.get(f"/dashboard/circulars/{circular.id}").get_data(as_text=True)
    assert f"/dashboard/circulars/{circular.id}/correct" in stats_page
    form = client.get(f"/dashboard/circulars/{circular.id}/correct").get_data(as_text=True)
    fixed = client.post(
        f"/dashboard/circulars/{circular.id}/correct",
        data=_form(_csrf(form), title="集合場所", body="公民館に変わりました。"),
    )
    assert fixed.status_code == 302
    fix = session.scalars(select(Circular).where(Circular.corrects_id == circular.id)).one()
    assert fix.title == "【訂正】集合場所"


def test_schedule_then_cancel(
    town: Town,
    session: Session,
    dashboard_client: Callable[..., Any],
    csrf_on: None,
    sim: SimulatorClient,
) -> None:
    client = dashboard_client(town.officer_x)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))
    response = client.post("/dashboard/compose", data=_form(token, associations=[str(town.x.id)]))
    assert response.status_code == 302
    circular = session.scalars(select(Circular)).one()
    when = (datetime.now(TOKYO) + timedelta(days=2)).replace(second=0, microsecond=0)
    local = when.strftime("%Y-%m-%dT%H:%M")
    past = client.post(
        f"/dashboard/compose/{circular.id}/schedule",
        data={"csrf_token": token, "scheduled_at": "2020-01-01T09:00"},
    )
    assert past.status_code == 302
    session.expire_all()
    assert session.get_one(Circular, circular.id).status is CircularStatus.draft
    scheduled = client.post(
        f"/dashboard/compose/{circular.id}/schedule",
        data={"csrf_token": token, "scheduled_at": local},
    )
    assert scheduled.status_code == 302
    session.expire_all()
    stored = session.get_one(Circular, circular.id)
    assert stored.status is CircularStatus.scheduled
    assert stored.scheduled_at is not None and stored.scheduled_at == when

    # Still editable once scheduled.
    edit = client.get(f"/dashboard/compose/{circular.id}")
    assert edit.status_code == 200 and "防災訓練のお知らせ" in edit.get_data(as_text=True)
    assert (
        client.post(
            f"/dashboard/compose/{circular.id}",
            data=_form(token, title="防災訓練（変更）", associations=[str(town.x.id)]),
        ).status_code
        == 302
    )
    cancelled = client.post(f"/dashboard/compose/{circular.id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 302
    session.expire_all()
    stored = session.get_one(Circular, circular.id)
    assert stored.status is CircularStatus.cancelled and stored.title == "防災訓練（変更）"
    assert client.get(f"/dashboard/compose/{circular.id}").status_code == 302


def test_an_officer_cannot_target_another_association_with_forged_ids(
    town: Town, session: Session, dashboard_client: Callable[..., Any], csrf_on: None
) -> None:
    client = dashboard_client(town.officer_x)
    page = client.get("/dashboard/compose").get_data(as_text=True)
    assert "Y町内会" not in page and "X2町内会" not in page
    assert 'name="districts"' not in page  # an officer never targets a whole district
    assert 'name="urgent"' not in page
    token = _csrf(page)
    for forged in (
        {"associations": [str(town.y.id)]},
        {"associations": [str(town.x.id), str(town.x2.id)]},
        {"districts": [str(town.district.id)]},
        {"associations": ["999999"]},
    ):
        refused = client.post("/dashboard/compose", data=_form(token, **forged))
        assert refused.status_code == 400
        assert "担当の範囲外の届け先はえらべません" in refused.get_data(as_text=True)
    not_a_number = client.post("/dashboard/compose", data=_form(token, associations=["x"]))
    assert not_a_number.status_code == 400
    urgent = client.post(
        "/dashboard/compose", data=_form(token, associations=[str(town.x.id)], urgent="y")
    )
    assert urgent.status_code == 400
    assert _circulars(session) == 0

    # Nor edit, preview or send a circular of another association.
    promoter = dashboard_client(town.promoter)
    token_p = _csrf(promoter.get("/dashboard/compose").get_data(as_text=True))
    promoter.post("/dashboard/compose", data=_form(token_p, associations=[str(town.x2.id)]))
    other = session.scalars(select(Circular)).one()
    for path in ("", "/preview"):
        assert client.get(f"/dashboard/compose/{other.id}{path}").status_code == 404
    assert (
        client.post(f"/dashboard/compose/{other.id}/send", data={"csrf_token": token}).status_code
        == 404
    )
    session.expire_all()
    assert session.get_one(Circular, other.id).status is CircularStatus.draft


def test_residents_anonymous_and_forms_without_csrf_are_refused(
    town: Town, session: Session, dashboard_client: Callable[..., Any], csrf_on: None
) -> None:
    anonymous = dashboard_client()
    assert anonymous.get("/dashboard/compose").status_code == 302
    assert anonymous.post("/dashboard/compose", data=_form("x")).status_code == 302
    no_role = StaffMember(line_user_id="U" + "f" * 32, display_name="元役員")
    session.add(no_role)
    assert dashboard_client(no_role).get("/dashboard/compose").status_code == 403

    client = dashboard_client(town.promoter)
    data = _form("", associations=[str(town.x.id)])
    del data["csrf_token"]
    assert client.post("/dashboard/compose", data=data).status_code == 400
    assert (
        client.post("/dashboard/compose", data={**data, "csrf_token": "forged"}).status_code == 400
    )
    assert _circulars(session) == 0


def test_a_file_named_pdf_that_is_not_a_pdf_is_refused(
    town: Town,
    session: Session,
    dashboard_client: Callable[..., Any],
    upload_dir: Path,
    csrf_on: None,
) -> None:
    client = dashboard_client(town.promoter)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))
    refused = client.post(
        "/dashboard/compose",
        data=_form(
            token,
            associations=[str(town.x.id)],
            files=[(io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "回覧.pdf")],
        ),
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="files-error"' in html
    assert "PDF か写真（JPEG・PNG）だけ添付できます" in html
    # The rest of the form is kept for the author to try again.
    assert "防災訓練のお知らせ" in html
    assert _circulars(session) == 0
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_field_errors_are_shown_next_to_their_inputs(
    town: Town, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(town.promoter)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))
    response = client.post(
        "/dashboard/compose",
        data=_form(token, title=" ", associations=[str(town.x.id)]),
    )
    assert response.status_code == 400
    assert re.search(
        r'id="title-error"[^>]*>題名を入れてください<', response.get_data(as_text=True)
    )
    response = client.post(
        "/dashboard/compose",
        data=_form(token, associations=[str(town.x.id)], question="来ますか", option_1="はい"),
    )
    assert "選択肢は2つから4つまでです" in response.get_data(as_text=True)
    response = client.post("/dashboard/compose", data=_form(token))
    assert "届け先をえらんでください" in response.get_data(as_text=True)
    assert _circulars(session) == 0


def test_the_english_dashboard_gives_a_services_refusals_in_english(
    town: Town,
    session: Session,
    dashboard_client: Callable[..., Any],
    sim: SimulatorClient,
    csrf_on: None,
) -> None:
    client = dashboard_client(town.promoter)
    client.get("/dashboard/language/en?next=/dashboard/")
    page = client.get("/dashboard/compose").get_data(as_text=True)
    foreign = client.post(
        "/dashboard/compose", data=_form(_csrf(page), associations=[str(town.y.id)])
    )
    assert foreign.status_code == 400
    assert "You cannot choose recipients outside your area." in foreign.get_data(as_text=True)
    assert "担当の範囲外" not in foreign.get_data(as_text=True)

    made = client.post("/dashboard/compose", data=_form(_csrf(page), associations=[str(town.x.id)]))
    assert made.status_code == 302
    circular = session.scalars(select(Circular)).one()
    # A refusal with values, one of which is itself a refusal (the shortage).
    sim.set_quota(100, used=99)
    preview = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Not enough messages left this month (3 needed, 1 left)" in preview
    sent = client.post(
        f"/dashboard/compose/{circular.id}/send",
        data={"csrf_token": _csrf(preview)},
        follow_redirects=True,
    )
    shown = sent.get_data(as_text=True)
    assert (
        "Not enough messages left this month (3 needed, 1 left). "
        "Nothing is sent until it can reach everyone."
    ) in shown
    # The reason stored on the circular: Japanese, as the CLI and the logs read it.
    session.expire_all()
    assert session.get_one(Circular, circular.id).hold_reason == (
        "今月のメッセージ残数が足りません（必要 3 通、残り 1 通）。全員に届くまで送信しません"
    )
    client.get("/dashboard/language/ja?next=/dashboard/")
    japanese = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "今月のメッセージ残数が足りません（必要 3 通、残り 1 通）" in japanese


def test_send_in_quiet_hours_offers_eight_oclock_and_sends_at_once_only_when_asked(
    town: Town,
    session: Session,
    dashboard_client: Callable[..., Any],
    sim: SimulatorClient,
    worker: Worker,
    csrf_on: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KAIRAN_QUIET_HOURS (21:00-08:00) holds for a manual send too (issue #18, item 11)."""
    night = FakeClock(datetime(2026, 12, 1, 23, 30, tzinfo=TOKYO))
    monkeypatch.setattr("linebot_app.dashboard.circulars.clock", night)
    client = dashboard_client(town.promoter)
    token = _csrf(client.get("/dashboard/compose").get_data(as_text=True))

    def compose(title: str, **fields: str) -> tuple[Circular, str]:
        made = client.post(
            "/dashboard/compose",
            data=_form(token, title=title, associations=[str(town.x.id)], **fields),
        )
        assert made.status_code == 302, made.get_data(as_text=True)
        circular = session.scalars(select(Circular).where(Circular.title == title)).one()
        return circular, client.get(made.headers["Location"]).get_data(as_text=True)

    calm, preview = compose("防災訓練のお知らせ")
    assert "住民に送らない時間帯" in preview and "21:00〜08:00" in preview
    assert re.search(
        r'<button type="submit" class="primary" id="send-later"[^>]*>8:00 に送る<', preview
    )
    assert re.search(r'<button type="submit" id="send-now"[^>]*>今すぐ送る<', preview)
    assert 'id="send"' not in preview
    later = client.post(
        f"/dashboard/compose/{calm.id}/send",
        data={"csrf_token": _csrf(preview), "when": "later"},
        follow_redirects=True,
    )
    assert "2026-12-02 08:00" in later.get_data(as_text=True)
    session.expire_all()
    calm = session.get_one(Circular, calm.id)
    assert calm.status is CircularStatus.scheduled
    assert calm.scheduled_at == datetime(2026, 12, 2, 8, 0, tzinfo=TOKYO)
    assert worker.drain() == 0
    assert {sim.inbox_counts().get(u, 0) for u in town.x_users} == {0}

    # A page opened before 21:00 and pressed after: its plain 「送信」 sends nothing at night.
    stale, preview = compose("夜回りのお知らせ")
    stale_press = client.post(
        f"/dashboard/compose/{stale.id}/send",
        data={"csrf_token": _csrf(preview), "when": "daytime"},
        follow_redirects=True,
    )
    assert "住民に送らない時間帯" in stale_press.get_data(as_text=True)
    session.expire_all()
    assert session.get_one(Circular, stale.id).status is CircularStatus.draft

    # 「今すぐ送る」 is a choice the author makes.
    now_press = client.post(
        f"/dashboard/compose/{stale.id}/send",
        data={"csrf_token": _csrf(preview), "when": "now"},
    )
    assert now_press.status_code == 302
    assert worker.drain() == 1
    assert {sim.inbox_counts().get(u, 0) for u in town.x_users} == {1}

    # An urgent circular has no quiet hours: the plain 「送信」 button, and it goes at once.
    _urgent, preview = compose("避難所開設", urgent="y")
    assert 'id="send"' in preview and "住民に送らない時間帯" not in preview
