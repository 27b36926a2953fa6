"""Circular templates: the starter set, instantiating every field, district templates kept to
their district, sharing city-wide."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars import translations
from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.composing import drafts, templates
from broadcasts.composing.drafts import CompositionError, NotPermitted
from broadcasts.core.clock import TOKYO
from models import Association, Circular, CircularTemplate, District, Role, StaffMember
from tests.helpers.clock import FakeClock


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_the_starter_set_loads_once(session: Session) -> None:
    assert templates.load_starter_set(session) == 4
    assert templates.load_starter_set(session) == 0
    titles = set(session.scalars(select(CircularTemplate.title)))
    assert {
        "清掃活動のお知らせ",
        "防災訓練のお知らせ",
        "総会の出欠について",
        "回覧のお願い",
    } == titles
    assert (
        session.scalar(
            select(func.count())
            .select_from(CircularTemplate)
            .where(CircularTemplate.district_id.is_not(None))
        )
        == 0
    )


def test_a_template_instantiates_a_circular_with_all_its_fields(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    association = make_association()
    promoter = make_staff(Role.promoter, district=association.district)
    template = CircularTemplate(
        district_id=association.district_id,
        title="防災訓練のお知らせ",
        body="11時に公園へ。",
        question="参加しますか？",
        options=["参加する", "参加しない", "未定"],
        deadline_days=7,
        event_days=10,
        confirmation_required=False,
        urgent=True,
        one_per_household=True,
        translations=[
            {"language": "ja-x-easy", "title": "", "body": "11じに こうえんへ。"},
            {
                "language": "en",
                "title": "Disaster drill",
                "body": "At 11 in the park.",
                "question": "Will you come?",
                "answers": ["Yes", "No", "Not sure"],
            },
        ],
    )
    session.add(template)
    session.flush()

    draft = templates.draft_from(template, clock)  # 2026-12-01 09:00 in Tokyo
    targeted = drafts.CircularDraft(
        **{**draft.__dict__, "targets": Target.of(associations=[association.id])}
    )
    circular = drafts.save_draft(session, clock, promoter, targeted)
    assert circular.title == "防災訓練のお知らせ"
    assert circular.body == "11時に公園へ。"
    assert circular.question == "参加しますか？"
    assert [o.label for o in circular.options] == ["参加する", "参加しない", "未定"]
    assert circular.answer_deadline == datetime(2026, 12, 8, 18, 0, tzinfo=TOKYO)
    assert circular.event_date == date(2026, 12, 11)
    assert circular.confirmation_required is False
    assert circular.urgent is True
    assert circular.one_per_household is True
    assert translations.of_circular(circular) == (
        Version("ja-x-easy", "防災訓練のお知らせ", "11じに こうえんへ。"),
        Version(
            "en",
            "Disaster drill",
            "At 11 in the park.",
            ("Yes", "No", "Not sure"),
            "Will you come?",
        ),
    )

    # And back: the circular saved as a template keeps the same fields and offsets.
    circular.created_at = clock.now()  # save_draft stamps the wall clock; offsets count from it
    saved = templates.save_from_circular(
        session, clock, promoter, circular, association.district_id
    )
    assert (saved.title, saved.body, saved.question, saved.options) == (
        template.title,
        template.body,
        template.question,
        template.options,
    )
    assert (saved.deadline_days, saved.event_days) == (7, 10)
    assert (saved.confirmation_required, saved.urgent) == (False, True)
    assert saved.one_per_household is True
    assert templates.draft_from(saved, clock).translations == translations.of_circular(circular)


def _district_with_staff(
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> tuple[District, StaffMember, StaffMember]:
    district = make_district()
    association = make_association(district=district)
    return (
        district,
        make_staff(Role.promoter, district=district),
        make_staff(Role.officer, association=association),
    )


def test_a_district_template_is_invisible_to_other_districts_until_shared(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    dashboard_client: Callable[..., Any],
) -> None:
    a, promoter_a, officer_a = _district_with_staff(make_district, make_association, make_staff)
    _b, promoter_b, officer_b = _district_with_staff(make_district, make_association, make_staff)
    admin = make_staff(Role.admin)
    circular = make_circular(author=promoter_a, title="A校区の夏祭り")
    translations.save(circular, [Version("en", "Summer festival of A", "On Saturday.")])
    own = templates.save_from_circular(session, clock, promoter_a, circular, a.id)
    session.commit()

    for member in (promoter_a, officer_a, admin):
        assert own in templates.available(session, member)
        assert templates.find(session, member, own.id) is own
    for member in (promoter_b, officer_b):
        assert own not in templates.available(session, member)
        assert templates.find(session, member, own.id) is None

    url = f"/dashboard/compose/template/{own.id}"
    assert dashboard_client(promoter_b).get(url).status_code == 404
    assert "A校区の夏祭り" not in dashboard_client(promoter_b).get("/dashboard/templates").text
    page = dashboard_client(promoter_a).get(url)
    assert page.status_code == 200 and 'value="A校区の夏祭り"' in page.text
    assert 'value="Summer festival of A"' in page.text, "the template's translation is filled in"

    # Only admins share city-wide; then every district sees it.
    with pytest.raises(NotPermitted):
        templates.share(session, clock, promoter_a, own)
    client = dashboard_client(admin)
    token = csrf(client.get("/dashboard/templates").text)
    share = client.post(f"/dashboard/templates/{own.id}/share", data={"csrf_token": token})
    assert share.status_code == 302
    session.expire_all()
    assert templates.find(session, promoter_b, own.id) is not None


def test_only_promoters_of_the_district_and_admins_save_templates(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> None:
    a, promoter_a, _officer = _district_with_staff(make_district, make_association, make_staff)
    b, _promoter_b, _officer_b = _district_with_staff(make_district, make_association, make_staff)
    circular = make_circular(author=promoter_a)
    with pytest.raises(CompositionError, match="担当の校区"):
        templates.save_from_circular(session, clock, promoter_a, circular, b.id)
    with pytest.raises(CompositionError, match="管理者"):
        templates.save_from_circular(session, clock, promoter_a, circular, None)
    admin = make_staff(Role.admin)
    assert templates.save_from_circular(session, clock, admin, circular, None).district_id is None
    assert (
        templates.save_from_circular(session, clock, promoter_a, circular, a.id).district_id == a.id
    )
