"""A photo with a message to the association: sent right after it in LINE, kept re-encoded (no
EXIF), shown to the association's officers only, and gone once the resident is erased."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.inbox import writing
from broadcasts.residents import privacy
from linebot_app.extensions import db
from models import Association, InboxMessage, InboxThread, Role, StaffMember
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.conversation import last, resident_of
from tests.helpers.servers import serving_line

GPS = 0x8825


def jpeg_with_a_place() -> bytes:
    image = Image.new("RGB", (64, 48), "orange")
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (35.0, 41.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_right_after_the_message_reaches_the_officers_only(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    clock: FakeClock,
    upload_dir: Path,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association = make_association(name="桜町内会")
    other = make_association(district=association.district, name="梅町内会")
    (user,) = make_line_residents(1, association)
    officer = make_staff(Role.officer, association_id=association.id)
    outsider = make_staff(Role.officer, association_id=other.id)
    admin = make_staff(Role.admin)
    session.commit()
    with serving_line(app, sim):
        # A photo with no message before it is not taken.
        sim.image(user, jpeg_with_a_place())
        assert "写真も" not in last(sim, user)["text"]
        sim.text(user, "自治会へ 道路に穴があいています")
        assert "写真があれば、続けて1枚送れます" in last(sim, user)["text"]
        sim.image(user, jpeg_with_a_place())
        assert "写真も自治会の役員に送りました" in last(sim, user)["text"]
        # One photo a message: a second is not taken.
        sim.image(user, jpeg_with_a_place())
        assert "写真も" not in last(sim, user)["text"]
    session.expire_all()
    message = session.scalars(select(InboxMessage)).one()
    assert message.photo_name is not None
    stored = writing.photo_path(upload_dir, message.photo_name)
    with Image.open(stored) as kept:
        assert GPS not in kept.getexif()
    thread_page = f"/dashboard/inbox/{message.thread_id}"
    photo = f"{thread_page}/photos/{message.id}"
    assert photo in dashboard_client(officer).get(thread_page).get_data(as_text=True)
    shown = dashboard_client(officer).get(photo)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert "no-store" in shown.headers["Cache-Control"]
    shown.close()
    for member in (outsider, admin):
        assert dashboard_client(member).get(photo).status_code == 404
    assert dashboard_client(officer).get(f"{thread_page}/photos/999999").status_code == 404

    # Erased: the row goes at once, the file within the hour (the clock's housekeeping).
    resident = resident_of(session, user)
    assert resident is not None
    privacy.anonymise(session, clock.now(), resident)
    session.commit()
    assert session.scalars(select(InboxThread)).all() == []
    old = time.time() - (writing.PHOTO_SWEEP_AFTER + timedelta(minutes=1)).total_seconds()
    os.utime(stored, (old, old))
    with db.sessionmaker() as other_session:
        swept = writing.unreferenced_photos(other_session, datetime.now(UTC), upload_dir)
    assert swept == [stored]
