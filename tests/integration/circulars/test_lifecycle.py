"""After the draft: preview, schedule, cancel, send, corrections and paper copies."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.targeting import Target
from broadcasts.composing import attachments, drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import line
from models import (
    Association,
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
    circular = drafts.save_draft(session, clock, officer, draft(sakura))
    png = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(png, "PNG")
    photo = attachments.add_attachment(session, circular, "a.png", png.getvalue(), tmp_path)

    shown = lifecycle.preview(session, officer, circular, 100, "https://kairan.test")
    assert (shown.recipients, shown.quota_needed, shown.remaining_quota) == (3, 3, 100)
    assert shown.sendable and shown.available == 100
    assert shown.card is not None
    card = shown.card.to_dict()
    assert card["contents"]["hero"]["url"] == f"https://kairan.test/files/{photo.storage_name}"
    assert "桜町内会" in card["altText"] and "清掃活動のお知らせ" in card["altText"]
    assert [(r.association, r.group, r.copies) for r in shown.paper.rows] == [("桜町内会", None, 7)]

    short = lifecycle.preview(session, officer, circular, 2)
    assert not short.sendable and "足りません" in (short.problem or "")
    assert lifecycle.preview(session, officer, circular, None).available is None


def test_schedule_then_cancel_and_nothing_after_release(
    session: Session, clock: FakeClock, sakura: Association, officer: StaffMember
) -> None:
    circular = drafts.save_draft(session, clock, officer, draft(sakura))
    with pytest.raises(CompositionError, match="先の日時"):
        lifecycle.schedule(session, clock, officer, circular, clock.now())
    with pytest.raises(CompositionError, match="1年以内"):
        lifecycle.schedule(session, clock, officer, circular, clock.now() + timedelta(days=400))
    when = clock.now() + timedelta(hours=5)
    lifecycle.schedule(session, clock, officer, circular, when)
    assert (circular.status, circular.scheduled_at) == (CircularStatus.scheduled, when)
    lifecycle.cancel(session, clock, officer, circular)
    assert circular.status is CircularStatus.cancelled and circular.cancelled_at == clock.now()
    with pytest.raises(CompositionError):
        drafts.save_draft(session, clock, officer, draft(sakura), circular)
    sent = drafts.save_draft(session, clock, officer, draft(sakura))
    sent.status = CircularStatus.sending
    with pytest.raises(CompositionError, match="訂正"):
        lifecycle.cancel(session, clock, officer, sent)


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
    circular = drafts.save_draft(session, clock, officer, draft(sakura))
    released = lifecycle.send_now(session, clock, officer, circular, remaining_quota(line()))
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

    fix = lifecycle.correct(
        session, clock, officer, circular, draft(sakura, title="集合場所の訂正", body="公園です。")
    )
    preview = lifecycle.preview(session, officer, fix, None)
    assert preview.recipients == 3
    assert lifecycle.send_now(session, clock, officer, fix, None).released
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
    assert lifecycle.corrections_of(session, circular) == [fix]


def test_paper_copies_per_association_and_group(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    a = make_association(name="あ町内会", kana="あ", paper_household_count=3, groups=("1班",))
    b = make_association(name="い町内会", kana="い", paper_household_count=5, groups=("1班",))
    admin = make_staff(Role.admin)
    circular = drafts.save_draft(
        session,
        clock,
        admin,
        CircularDraft(
            title="t",
            body="b",
            targets=Target.of(associations=[a.id], groups=[a.groups[0].id, b.groups[0].id]),
        ),
    )
    copies = lifecycle.paper_copies(session, circular)
    assert [(r.association, r.group, r.copies) for r in copies.rows] == [
        ("あ町内会", None, 3),
        ("い町内会", "1班", 5),
    ]
    assert copies.total == 8
