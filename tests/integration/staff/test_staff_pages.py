"""What staff read on the dashboard (issue #18, item 8): the audit log names what people know,
and the English dashboard tells the send and schedule buttons from the statuses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from broadcasts.core.clock import TOKYO
from broadcasts.staff import audit
from models import (
    Association,
    Circular,
    CircularStatus,
    District,
    PaperHousehold,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock


def _button(html: str, element_id: str) -> str:
    match = re.search(rf'<button[^>]*id="{element_id}"[^>]*>([^<]*)</button>', html)
    assert match, f"no #{element_id} button"
    return match.group(1).strip()


def _table(html: str, table_id: str) -> str:
    match = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert match, f"no #{table_id} table"
    return match.group(1)


def test_the_english_preview_says_send_and_schedule(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    dashboard_client: Callable[..., Any],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In the daytime: in quiet hours the preview offers 「8:00 に送る」 instead of 「送信」.
    monkeypatch.setattr(
        "linebot_app.dashboard.circulars.clock",
        FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO)),
    )
    association = make_association()
    promoter = make_staff(Role.promoter, district_id=association.district_id)
    draft = make_circular(author=promoter)
    scheduled = make_circular(
        author=promoter,
        title="予約した回覧",
        status=CircularStatus.scheduled,
        scheduled_at=clock.now() + timedelta(days=2),
    )
    client = dashboard_client(promoter)
    client.get("/dashboard/language/en?next=/dashboard/")
    preview = client.get(f"/dashboard/compose/{draft.id}/preview").get_data(as_text=True)
    assert _button(preview, "send") == "Send"
    assert _button(preview, "schedule") == "Schedule"
    # The same Japanese words as a status stay statuses.
    listed = client.get("/dashboard/").get_data(as_text=True)
    assert re.search(r'class="status status-scheduled">Scheduled<', listed), listed
    assert scheduled.id

    client.get("/dashboard/language/ja?next=/dashboard/")
    japanese = client.get(f"/dashboard/compose/{draft.id}/preview").get_data(as_text=True)
    assert (_button(japanese, "send"), _button(japanese, "schedule")) == ("送信", "予約")


def test_a_circulars_status_and_its_time_do_not_say_the_same_word_twice(
    session: Session,
    clock: FakeClock,
    dashboard_client: Callable[..., Any],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> None:
    """The list read "Sent Sent 2026-12-02 15:18" in English and 「予約 予約 …」 in Japanese: the
    status already says what the time is."""
    association = make_association()
    promoter = make_staff(Role.promoter, district_id=association.district_id)
    sent = make_circular(author=promoter, status=CircularStatus.sent, released_at=clock.now())
    scheduled = make_circular(
        author=promoter,
        status=CircularStatus.scheduled,
        scheduled_at=clock.now() + timedelta(days=2),
    )
    client = dashboard_client(promoter)
    for language, doubled in (("en", ("Sent Sent", "Scheduled Scheduled")), ("ja", ("予約 予約",))):
        client.get(f"/dashboard/language/{language}?next=/dashboard/")
        for path in (
            "/dashboard/",
            f"/dashboard/circulars/{sent.id}",
            f"/dashboard/compose/{scheduled.id}/preview",
        ):
            html = client.get(path).get_data(as_text=True)
            shown = " ".join(re.sub(r"<[^>]+>", " ", html).split())
            for words in doubled:
                assert words not in shown, (language, path)


def test_the_audit_log_names_areas_circulars_and_people(
    session: Session,
    clock: FakeClock,
    dashboard_client: Callable[..., Any],
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> None:
    district = make_district(code="D45", name="緑ヶ丘校区")
    association = make_association(
        district=district, code="A0457", name="緑ヶ丘三丁目自治会", groups=("3班",)
    )
    group = association.groups[0]
    admin = make_staff(Role.admin)
    admin.display_name = "市役所 花子"
    promoter = make_staff(Role.promoter, district_id=district.id)
    promoter.display_name = "推進 一郎"
    circular = make_circular(author=promoter, title="夏祭りのお知らせ")
    paper_household = PaperHousehold(group=group, position=4)
    session.add(paper_household)
    session.flush()
    # By a command or the system (no one logged in), then by people.
    audit.record(session, clock, None, "district.activated", "district", district.id)
    audit.record(
        session, clock, promoter.id, "circular.sent", "circular", circular.id, recipients=12
    )
    audit.record(
        session,
        clock,
        admin.id,
        "role.removed",
        "staff_member",
        promoter.id,
        role="promoter",
        district_id=district.id,
        association_id=None,
    )
    audit.record(
        session, clock, admin.id, "join_code.rotated", "association", association.id, group=group.id
    )
    audit.record(
        session,
        clock,
        promoter.id,
        "paper.proxy_confirmed",
        "circular",
        circular.id,
        paper_household_id=paper_household.id,
        group_id=group.id,
    )
    session.commit()

    page = dashboard_client(admin).get("/dashboard/audit").get_data(as_text=True)
    table = _table(page, "audit")
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 5
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]
    # No internal ids: people know areas by code and name, circulars by title.
    assert not [row for row in text if re.search(r"#\s*\d|_id|\bdistrict\b", row)], text
    assert "—" not in "".join(text), text
    activated, sent, removed, rotated, proxy = reversed(text)
    assert "D45 緑ヶ丘校区" in activated and "システム" in activated
    assert "推進 一郎" in sent and "夏祭りのお知らせ" in sent and "12" in sent
    assert "市役所 花子" in removed and "推進 一郎" in removed
    assert "ICT推進員" in removed and "D45 緑ヶ丘校区" in removed
    assert "A0457 緑ヶ丘三丁目自治会" in rotated and "3班" in rotated
    assert "夏祭りのお知らせ" in proxy and "3班" in proxy and "4" in proxy
