"""Who may compose what: every role against every kind of target, forged ids included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle, targeting
from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError, NotPermitted
from broadcasts.staff.scope import Scope
from models import Association, Circular, CircularStatus, District, Role, StaffMember
from tests.helpers.clock import FakeClock


@dataclass
class City:
    east: District
    west: District
    sakura: Association  # in east, groups 1班 2班
    momo: Association  # in east
    kaede: Association  # in west, groups 1班
    staff: dict[str, StaffMember | None]


@pytest.fixture
def city(
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    session: Session,
) -> City:
    east, west = make_district(name="東校区"), make_district(name="西校区")
    sakura = make_association(district=east, name="桜町内会", groups=("1班", "2班"))
    momo = make_association(district=east, name="桃町内会")
    kaede = make_association(district=west, name="楓町内会", groups=("1班",))
    no_roles = StaffMember(line_user_id=f"U{'f' * 32}", display_name="役割なし")
    session.add(no_roles)
    session.flush()
    return City(
        east,
        west,
        sakura,
        momo,
        kaede,
        {
            "admin": make_staff(Role.admin),
            "promoter": make_staff(Role.promoter, district_id=east.id),
            "officer": make_staff(Role.officer, association_id=sakura.id),
            "no_roles": no_roles,
            "resident": None,
        },
    )


TARGETS: dict[str, Callable[[City], Target]] = {
    "east district": lambda c: Target.of(districts=[c.east.id]),
    "west district": lambda c: Target.of(districts=[c.west.id]),
    "sakura": lambda c: Target.of(associations=[c.sakura.id]),
    "momo": lambda c: Target.of(associations=[c.momo.id]),
    "kaede": lambda c: Target.of(associations=[c.kaede.id]),
    "sakura 2班": lambda c: Target.of(groups=[c.sakura.groups[1].id]),
    "kaede 1班": lambda c: Target.of(groups=[c.kaede.groups[0].id]),
    "sakura and kaede": lambda c: Target.of(associations=[c.sakura.id, c.kaede.id]),
    "sakura + kaede 1班": lambda c: Target.of(
        associations=[c.sakura.id], groups=[c.kaede.groups[0].id]
    ),
    "forged association id": lambda c: Target.of(associations=[999_999]),
    "forged group id": lambda c: Target.of(groups=[999_999]),
    "forged district id": lambda c: Target.of(districts=[999_999]),
}

ALLOWED: dict[str, set[str]] = {
    "admin": {
        "east district",
        "west district",
        "sakura",
        "momo",
        "kaede",
        "sakura 2班",
        "kaede 1班",
        "sakura and kaede",
        "sakura + kaede 1班",
    },
    "promoter": {"east district", "sakura", "momo", "sakura 2班"},
    "officer": {"sakura", "sakura 2班"},
    "no_roles": set(),
    "resident": set(),
}


FORM = {"title": "清掃活動", "body": "日曜の朝9時に集合。", "confirmation_required": "y"}


def draft(target: Target) -> CircularDraft:
    return CircularDraft(title="清掃活動", body="日曜の朝8時に集合。", targets=target)


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("target_name", list(TARGETS))
def test_every_role_against_every_target(
    session: Session, clock: FakeClock, city: City, role: str, target_name: str
) -> None:
    author = city.staff[role]
    target = TARGETS[target_name](city)
    if target_name in ALLOWED[role]:
        circular = drafts.save_draft(session, clock, author, draft(target))
        assert Scope.of_member(author).may_compose
        assert Target.of_circular(circular) == target
    else:
        expected = NotPermitted if role in ("no_roles", "resident") else CompositionError
        with pytest.raises(expected) as refused:
            drafts.save_draft(session, clock, author, draft(target))
        assert refused.value.field in ("targets", "author")


def test_officer_cannot_move_an_existing_draft_outside_their_association(
    session: Session, clock: FakeClock, city: City
) -> None:
    officer = city.staff["officer"]
    circular = drafts.save_draft(
        session, clock, officer, draft(Target.of(associations=[city.sakura.id]))
    )
    with pytest.raises(CompositionError):
        drafts.save_draft(
            session, clock, officer, draft(Target.of(associations=[city.kaede.id])), circular
        )
    assert Target.of_circular(circular) == Target.of(associations=[city.sakura.id])


def test_only_the_author_an_admin_or_a_covering_scope_may_manage_a_circular(
    session: Session, clock: FakeClock, city: City, make_staff: Callable[..., StaffMember]
) -> None:
    officer = city.staff["officer"]
    mine = drafts.save_draft(
        session, clock, officer, draft(Target.of(associations=[city.sakura.id]))
    )
    west_promoter = make_staff(Role.promoter, district_id=city.west.id)
    other_officer = make_staff(Role.officer, association_id=city.momo.id)
    assert Scope.of_member(officer).may_manage(session, mine)
    assert Scope.of_member(city.staff["admin"]).may_manage(session, mine)
    assert Scope.of_member(city.staff["promoter"]).may_manage(session, mine)  # east covers 桜
    assert not Scope.of_member(west_promoter).may_manage(session, mine)
    assert not Scope.of_member(other_officer).may_manage(session, mine)
    assert not Scope.of_member(None).may_manage(session, mine)
    with pytest.raises(NotPermitted):
        lifecycle.cancel(session, clock, other_officer, mine)
    with pytest.raises(NotPermitted):
        lifecycle.send_now(session, clock, west_promoter, mine, None)
    with pytest.raises(NotPermitted):
        lifecycle.preview(session, None, mine, None)


def test_the_target_tree_shows_only_the_authors_scope(
    session: Session, clock: FakeClock, city: City, make_resident: Callable[..., object]
) -> None:
    make_resident(association=city.sakura, group=city.sakura.groups[1])
    make_resident(association=city.sakura)
    make_resident(association=city.kaede)

    officer_tree = targeting.allowed_target_tree(session, Scope.of_member(city.staff["officer"]))
    assert [d.name for d in officer_tree] == ["東校区"]
    assert not officer_tree[0].selectable
    (sakura,) = officer_tree[0].associations
    assert (sakura.name, sakura.recipients) == ("桜町内会", 2)
    assert [(g.name, g.recipients) for g in sakura.groups] == [("1班", 0), ("2班", 1)]

    promoter_tree = targeting.allowed_target_tree(session, Scope.of_member(city.staff["promoter"]))
    assert [(d.name, d.selectable, d.recipients) for d in promoter_tree] == [("東校区", True, 2)]
    assert {a.name for a in promoter_tree[0].associations} == {"桜町内会", "桃町内会"}

    admin_tree = targeting.allowed_target_tree(session, Scope.of_member(city.staff["admin"]))
    assert {d.name for d in admin_tree} == {"東校区", "西校区"}
    assert targeting.allowed_target_tree(session, Scope.of_member(None)) == []
    assert targeting.allowed_target_tree(session, Scope.of_member(city.staff["no_roles"])) == []


def test_a_correction_keeps_its_originals_audience_whatever_targets_it_is_given(
    session: Session, clock: FakeClock, city: City, make_circular: Callable[..., Circular]
) -> None:
    officer = city.staff["officer"]
    circular = drafts.save_draft(
        session, clock, officer, draft(Target.of(associations=[city.sakura.id]))
    )
    circular.status = CircularStatus.sent  # as if released and delivered
    fix = lifecycle.correct(
        session, clock, officer, circular, draft(Target.of(associations=[city.kaede.id]))
    )
    assert fix.corrects_id == circular.id
    assert fix.title == "【訂正】清掃活動"
    assert Target.of_circular(fix) == Target(residents_of=circular.id)


def test_an_author_whose_role_for_the_area_was_removed_can_no_longer_correct_it(
    session: Session,
    clock: FakeClock,
    city: City,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    """Authorship grants nothing by itself: every write checks the author's current scope,
    a correction's included (issue #18, item 12)."""
    officer = make_staff(Role.officer, association_id=city.sakura.id)
    mine = drafts.save_draft(
        session, clock, officer, draft(Target.of(associations=[city.sakura.id]))
    )
    mine.status = CircularStatus.sent  # as if released and delivered
    fix = lifecycle.correct(session, clock, officer, mine, draft(Target()))
    # The admin moves the officer from 桜 to 桃: they still compose, for 桃 only.
    (role,) = officer.roles
    role.association_id = city.momo.id
    session.flush()
    session.expire(officer)
    assert not Scope.of_member(officer).may_manage(session, mine)
    assert not Scope.of_member(officer).may_manage(session, fix)
    with pytest.raises(NotPermitted) as refused:
        lifecycle.correct(session, clock, officer, mine, draft(Target()))
    assert "担当の範囲外" in refused.value.message
    with pytest.raises(NotPermitted):
        lifecycle.send_now(session, clock, officer, fix, None)
    with pytest.raises(NotPermitted):
        lifecycle.schedule(session, clock, officer, fix, clock.now() + timedelta(days=1))
    assert fix.status is CircularStatus.draft
    # The dashboard answers as for any circular outside the viewer's scope.
    client = dashboard_client(officer)
    for path in (f"/dashboard/circulars/{mine.id}/correct", f"/dashboard/compose/{fix.id}/preview"):
        page = client.get(path)
        assert page.status_code == 404 and "見つかりませんでした" in page.get_data(as_text=True)
    assert client.post(f"/dashboard/circulars/{mine.id}/correct", data=FORM).status_code == 404
    assert client.post(f"/dashboard/compose/{fix.id}/send").status_code == 404
    session.expire_all()
    assert session.get_one(Circular, fix.id).status is CircularStatus.draft
    assert len(lifecycle.corrections_of(session, mine)) == 0
    # A draft of theirs with no area picked yet (as LINE compose starts one) stays theirs.
    blank = Circular(author_id=officer.id, title="", body="")
    session.add(blank)
    session.flush()
    assert Scope.of_member(officer).may_manage(session, blank)
