"""Composition rules: validation, attachments, preview, schedule, cancel, send and corrections."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars import compose
from broadcasts.circulars.compose import CircularDraft, CompositionError
from broadcasts.circulars.targeting import Target
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import line
from models import (
    Association,
    AttachmentKind,
    CircularStatus,
    Delivery,
    DeliveryStatus,
    FollowStatus,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock


@pytest.fixture
def sakura(make_association: Callable[..., Association]) -> Association:
    return make_association(name="桜町内会", groups=("1班", "2班"), paper_household_count=7)


@pytest.fixture
def officer(make_staff: Callable[..., StaffMember], sakura: Association) -> StaffMember:
    return make_staff(Role.officer, association_id=sakura.id)


def draft(sakura: Association, **fields: Any) -> CircularDraft:
    values: dict[str, Any] = {
        "title": "清掃活動のお知らせ",
        "body": "日曜の朝8時に公民館前に集合してください。",
        "targets": Target.of(associations=[sakura.id]),
        **fields,
    }
    return CircularDraft(**values)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "あ" * 101}, "title"),
        ({"body": ""}, "body"),
        ({"body": "あ" * 10_001}, "body"),
        ({"question": "出席しますか？", "options": ["出席"]}, "options"),
        ({"question": "出席しますか？", "options": ["a", "b", "c", "d", "e"]}, "options"),
        ({"question": "出席しますか？", "options": ["出席", "あ" * 21]}, "options"),
        ({"question": "出席しますか？", "options": ["出席", "出席"]}, "options"),
        ({"options": ["出席", "欠席"]}, "question"),
        ({"question": "出席？", "options": ["はい", "いいえ"], "answer_deadline": "past"}, None),
        ({"answer_deadline": "future"}, "answer_deadline"),
        ({"event_date": date(2026, 11, 30)}, "event_date"),
        ({"targets": Target()}, "targets"),
    ],
)
def test_invalid_drafts_are_refused_with_the_field_at_fault(
    session: Session,
    clock: FakeClock,
    sakura: Association,
    officer: StaffMember,
    fields: dict[str, Any],
    field: str | None,
) -> None:
    fields = dict(fields)  # parameters are shared between the databases' runs
    if fields.get("answer_deadline") == "past":
        fields["answer_deadline"] = clock.now() - timedelta(minutes=1)
        field = "answer_deadline"
    elif fields.get("answer_deadline") == "future":
        fields["answer_deadline"] = clock.now() + timedelta(days=1)
    with pytest.raises(CompositionError) as refused:
        compose.save_draft(session, clock, officer, draft(sakura, **fields))
    assert refused.value.field == field
    assert refused.value.message


def test_a_valid_draft_is_saved_and_updated_in_place(
    session: Session, clock: FakeClock, sakura: Association, officer: StaffMember
) -> None:
    deadline = clock.now() + timedelta(days=3)
    circular = compose.save_draft(
        session,
        clock,
        officer,
        draft(
            sakura,
            title="  清掃活動　 のお知らせ ",
            question="出席しますか？",
            options=["出席", "欠席", " "],
            answer_deadline=deadline,
            event_date=date(2026, 12, 6),
            confirmation_required=False,
        ),
    )
    assert circular.status is CircularStatus.draft
    assert circular.title == "清掃活動 のお知らせ"
    assert [(o.position, o.label) for o in circular.options] == [(1, "出席"), (2, "欠席")]
    assert circular.answer_deadline == deadline and circular.event_date == date(2026, 12, 6)
    same = compose.save_draft(
        session,
        clock,
        officer,
        draft(sakura, question="参加？", options=["はい", "いいえ"]),
        circular,
    )
    assert same.id == circular.id
    assert [o.label for o in same.options] == ["はい", "いいえ"]
    assert same.confirmation_required


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (3000, 1000), "red")
    exif = Image.Exif()
    exif[0x8825] = {2: (35.0, 40.0, 0.0)}  # GPSInfo: where the photo was taken
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_attachments_are_checked_by_content_and_photos_lose_their_metadata(
    session: Session, clock: FakeClock, sakura: Association, officer: StaffMember, tmp_path: Path
) -> None:
    circular = compose.save_draft(session, clock, officer, draft(sakura))
    pdf = compose.add_attachment(session, circular, "地図.pdf", b"%PDF-1.4\n%%EOF\n", tmp_path)
    assert pdf.kind is AttachmentKind.pdf and pdf.content_type == "application/pdf"
    assert pdf.storage_name.endswith(".pdf") and len(pdf.storage_name) >= 40
    assert (tmp_path / pdf.storage_name).read_bytes() == b"%PDF-1.4\n%%EOF\n"

    photo = compose.add_attachment(
        session, circular, "C:\\写真\\IMG_1.jpg", _jpeg_with_gps(), tmp_path
    )
    assert photo.kind is AttachmentKind.image and photo.original_name == "IMG_1.jpg"
    with Image.open(tmp_path / photo.storage_name) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) == compose.IMAGE_MAX_SIDE
        assert not stored.getexif()

    for name, data in [
        ("evil.pdf", b"MZ\x90\x00 not a pdf"),
        ("page.png", b"<html><script>alert(1)</script>"),
        ("empty.pdf", b""),
        ("huge.pdf", b"%PDF-" + b"0" * compose.ATTACHMENT_LIMIT),
    ]:
        with pytest.raises(CompositionError) as refused:
            compose.add_attachment(session, circular, name, data, tmp_path)
        assert refused.value.field == "attachment"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(CompositionError):
        compose.add_attachment(session, circular, "anim.gif", gif.getvalue(), tmp_path)
    assert [a.position for a in circular.attachments] == [1, 2]


def test_preview_shows_the_card_the_count_and_the_quota(
    session: Session,
    clock: FakeClock,
    sakura: Association,
    officer: StaffMember,
    make_resident: Callable[..., Resident],
    tmp_path: Path,
) -> None:
    for _ in range(3):
        make_resident(association=sakura)
    make_resident(association=sakura, follow_status=FollowStatus.blocked)
    circular = compose.save_draft(session, clock, officer, draft(sakura))
    png = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(png, "PNG")
    photo = compose.add_attachment(session, circular, "a.png", png.getvalue(), tmp_path)

    shown = compose.preview(session, officer, circular, 100, "https://kairan.test")
    assert (shown.recipients, shown.quota_needed, shown.remaining_quota) == (3, 3, 100)
    assert shown.sendable and shown.available == 100
    assert shown.card is not None
    card = shown.card.to_dict()
    assert card["contents"]["hero"]["url"] == f"https://kairan.test/files/{photo.storage_name}"
    assert "桜町内会" in card["altText"] and "清掃活動のお知らせ" in card["altText"]
    assert [(r.association, r.group, r.copies) for r in shown.paper.rows] == [("桜町内会", None, 7)]

    short = compose.preview(session, officer, circular, 2)
    assert not short.sendable and "足りません" in (short.problem or "")
    assert compose.preview(session, officer, circular, None).available is None


def test_schedule_then_cancel_and_nothing_after_release(
    session: Session, clock: FakeClock, sakura: Association, officer: StaffMember
) -> None:
    circular = compose.save_draft(session, clock, officer, draft(sakura))
    with pytest.raises(CompositionError, match="先の日時"):
        compose.schedule(session, clock, officer, circular, clock.now())
    with pytest.raises(CompositionError, match="1年以内"):
        compose.schedule(session, clock, officer, circular, clock.now() + timedelta(days=400))
    when = clock.now() + timedelta(hours=5)
    compose.schedule(session, clock, officer, circular, when)
    assert (circular.status, circular.scheduled_at) == (CircularStatus.scheduled, when)
    compose.cancel(session, clock, officer, circular)
    assert circular.status is CircularStatus.cancelled and circular.cancelled_at == clock.now()
    with pytest.raises(CompositionError):
        compose.save_draft(session, clock, officer, draft(sakura), circular)
    sent = compose.save_draft(session, clock, officer, draft(sakura))
    sent.status = CircularStatus.sending
    with pytest.raises(CompositionError, match="訂正"):
        compose.cancel(session, clock, officer, sent)


def test_a_correction_reaches_exactly_the_originals_residents(
    session: Session,
    clock: FakeClock,
    sakura: Association,
    officer: StaffMember,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    sim: SimulatorClient,
    worker: Worker,
) -> None:
    first = make_line_residents(4, sakura)
    circular = compose.save_draft(session, clock, officer, draft(sakura))
    released = compose.send_now(session, clock, officer, circular, remaining_quota(line()))
    assert released.released and released.recipients == 4
    session.commit()
    worker.drain()
    # After the original: one newcomer, one who moved away, one who blocked the bot.
    newcomer = make_line_residents(1, sakura)
    moved, blocked = (
        session.scalars(select(Resident).where(Resident.line_user_id == u)).one() for u in first[:2]
    )
    moved.association = make_association()
    blocked.follow_status = FollowStatus.blocked
    session.commit()

    fix = compose.correct(
        session, clock, officer, circular, draft(sakura, title="集合場所の訂正", body="公園です。")
    )
    preview = compose.preview(session, officer, fix, None)
    assert preview.recipients == 3
    assert compose.send_now(session, clock, officer, fix, None).released
    session.commit()
    worker.drain()
    got = session.scalars(
        select(Resident.line_user_id)
        .join(Delivery, Delivery.resident_id == Resident.id)
        .where(Delivery.circular_id == fix.id, Delivery.status == DeliveryStatus.sent)
    ).all()
    assert set(got) == {first[0], first[2], first[3]}
    assert newcomer[0] not in got
    (card,) = [m for m in sim.inbox(first[0]) if "訂正" in m["message"]["altText"]]
    assert card["message"]["altText"].endswith("【訂正】集合場所の訂正（確認をお願いします）")
    assert compose.corrections_of(session, circular) == [fix]


def test_paper_copies_per_association_and_group(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    a = make_association(name="あ町内会", kana="あ", paper_household_count=3, groups=("1班",))
    b = make_association(name="い町内会", kana="い", paper_household_count=5, groups=("1班",))
    admin = make_staff(Role.admin)
    circular = compose.save_draft(
        session,
        clock,
        admin,
        CircularDraft(
            title="t",
            body="b",
            targets=Target.of(associations=[a.id], groups=[a.groups[0].id, b.groups[0].id]),
        ),
    )
    copies = compose.paper_copies(session, circular)
    assert [(r.association, r.group, r.copies) for r in copies.rows] == [
        ("あ町内会", None, 3),
        ("い町内会", "1班", 5),
    ]
    assert copies.total == 8
