"""Composition rules for drafts: validation, saving, and attachments checked by their content."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.composing import attachments, drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from models import (
    Association,
    AttachmentKind,
    CircularStatus,
    Role,
    StaffMember,
)
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
        drafts.save_draft(session, clock, officer, draft(sakura, **fields))
    assert refused.value.field == field
    assert refused.value.message


def test_a_valid_draft_is_saved_and_updated_in_place(
    session: Session, clock: FakeClock, sakura: Association, officer: StaffMember
) -> None:
    deadline = clock.now() + timedelta(days=3)
    circular = drafts.save_draft(
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
    same = drafts.save_draft(
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
    circular = drafts.save_draft(session, clock, officer, draft(sakura))
    pdf = attachments.add_attachment(session, circular, "地図.pdf", b"%PDF-1.4\n%%EOF\n", tmp_path)
    assert pdf.kind is AttachmentKind.pdf and pdf.content_type == "application/pdf"
    assert pdf.storage_name.endswith(".pdf") and len(pdf.storage_name) >= 40
    assert (tmp_path / pdf.storage_name).read_bytes() == b"%PDF-1.4\n%%EOF\n"

    photo = attachments.add_attachment(
        session, circular, "C:\\写真\\IMG_1.jpg", _jpeg_with_gps(), tmp_path
    )
    assert photo.kind is AttachmentKind.image and photo.original_name == "IMG_1.jpg"
    with Image.open(tmp_path / photo.storage_name) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) == attachments.IMAGE_MAX_SIDE
        assert not stored.getexif()

    for name, data in [
        ("evil.pdf", b"MZ\x90\x00 not a pdf"),
        ("page.png", b"<html><script>alert(1)</script>"),
        ("empty.pdf", b""),
        ("huge.pdf", b"%PDF-" + b"0" * attachments.ATTACHMENT_LIMIT),
    ]:
        with pytest.raises(CompositionError) as refused:
            attachments.add_attachment(session, circular, name, data, tmp_path)
        assert refused.value.field == "attachment"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(CompositionError):
        attachments.add_attachment(session, circular, "anim.gif", gif.getvalue(), tmp_path)
    assert [a.position for a in circular.attachments] == [1, 2]
