"""The watch-over hint (見守り): opt-in per association, 班長 of the 班 only, residents opt out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.core.postbacks import ChooseAssociation, ChooseDistrict, RegistrationControl
from broadcasts.delivery.worker import Worker
from broadcasts.households import watch_over, watch_over_notice
from broadcasts.residents import acknowledgements, registration
from linebot_app.chat import registration as chat
from models import (
    Association,
    Circular,
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
from tests.helpers.databases import race
from tests.helpers.webhooks import text_event


@pytest.fixture
def group_town(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> tuple[Association, list[Resident], list[Circular]]:
    association = make_association(name="桜町内会", groups=("1班", "2班"))
    first, second = association.groups
    # Turned on before anyone registered: every resident was told when registering.
    watch_over.set_association(session, clock, association.id, True, 3)
    residents = [
        make_resident(association=association, group=group, registered_at=clock.now())
        for group in (first, first, first, first, second)
    ]
    circulars = []
    for n in range(4):
        clock.advance(days=1)
        circular = make_circular(status=CircularStatus.sent, released_at=clock.now())
        # The first circular asks no confirmation: it never counts against anyone.
        circular.confirmation_required = n != 0
        for resident in residents:
            session.add(
                Delivery(
                    circular=circular,
                    resident=resident,
                    status=DeliveryStatus.sent,
                    created_at=clock.now(),
                )
            )
        circulars.append(circular)
    session.flush()
    # residents[1] confirmed the oldest of the last three; residents[2] the newest.
    acknowledgements.confirm(session, clock, residents[1], circulars[1].id)
    acknowledgements.confirm(session, clock, residents[2], circulars[3].id)
    return association, residents, circulars


def test_the_list_names_residents_of_the_group_who_confirmed_none_of_the_last_n(
    session: Session, clock: FakeClock, group_town: tuple[Association, list[Resident], Any]
) -> None:
    association, residents, _circulars = group_town
    first = association.groups[0]

    def listed(count: int) -> set[int]:
        return {w.resident_id for w in watch_over.not_confirming(session, first.id, count)}

    assert listed(3) == {residents[0].id, residents[3].id}
    # With the last two only, confirming the older of three no longer saves residents[1].
    assert listed(2) == {residents[0].id, residents[1].id, residents[3].id}
    # Nobody has four circulars asking a confirmation: nobody is listed for four.
    assert listed(4) == set()
    watch_over.opt_out(session, clock, residents[3])
    assert listed(3) == {residents[0].id}
    watch_over.opt_in(session, residents[3])
    assert listed(3) == {residents[0].id, residents[3].id}


def test_only_the_leader_of_the_group_sees_the_list_and_only_when_opted_in(
    session: Session,
    clock: FakeClock,
    group_town: tuple[Association, list[Resident], Any],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association, residents, _circulars = group_town
    first, second = association.groups
    leader = make_staff(Role.group_leader, group_id=first.id)
    other_leader = make_staff(Role.group_leader, group_id=second.id)
    officer = make_staff(Role.officer, association_id=association.id)
    url = f"/dashboard/groups/{first.id}/watch-over"
    watch_over.set_association(session, clock, association.id, False, 3)
    assert dashboard_client(leader).get(url).status_code == 404  # not opted in
    # Turned on again now: the residents registered before were not told, so none is listed
    # until they register again (and are told).
    watch_over.set_association(session, clock, association.id, True, 3)
    assert residents[0].display_name not in dashboard_client(leader).get(url).text
    clock.advance(minutes=1)
    for resident in residents:
        resident.registered_at = clock.now()
    session.flush()
    page = dashboard_client(leader).get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert residents[0].display_name in text and residents[3].display_name in text
    assert residents[1].display_name not in text and residents[4].display_name not in text
    assert dashboard_client(other_leader).get(url).status_code == 404
    assert dashboard_client(officer).get(url).status_code == 404


def opt_in(client: Any, association_id: int, count: int, **options: Any) -> Any:
    """The officer turns watch-over on with the association's form."""
    page = client.get(f"/dashboard/associations/{association_id}/groups").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return client.post(
        f"/dashboard/associations/{association_id}/watch-over",
        data={"csrf_token": token, "enabled": "y", "count": str(count)},
        **options,
    )


def test_the_officer_opts_in_on_the_dashboard(
    session: Session,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association = make_association(groups=("1班",))
    officer = make_staff(Role.officer, association_id=association.id)
    client = dashboard_client(officer)
    assert opt_in(client, association.id, 4).status_code == 302
    session.expire_all()
    setting = watch_over.setting(session, association.id)
    assert setting is not None and setting.circular_count == 4
    forged = client.post(
        f"/dashboard/associations/{association.id}/watch-over",
        data={"csrf_token": "forged", "count": "3"},
    )
    assert forged.status_code == 400


def test_registration_tells_the_resident_when_the_association_watches_over(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
) -> None:
    watched = make_association(name="見守り町内会")
    plain = make_association(name="ふつう町内会")
    watch_over.set_association(session, clock, watched.id, True, 3)
    notice = "「見守りをやめる」"
    for association, told in ((watched, True), (plain, False)):
        resident = registration.ensure_resident(session, clock, f"U{association.id:032d}")
        registration.start(session, resident)
        registration.choose(session, clock, resident, ChooseDistrict(association.district_id))
        registration.choose(session, clock, resident, ChooseAssociation(association.id))
        outcome = registration.choose(session, clock, resident, RegistrationControl("ok"))
        assert isinstance(outcome, registration.Registered)
        (message,) = chat.worded(outcome, "ja")
        assert (notice in message.text) is told  # type: ignore[attr-defined]
        # What the 班長 gets is a list to look at, not a message: the notice says so.
        assert ("班長さんが見る一覧に名前が出ます" in message.text) is told  # type: ignore[attr-defined]
        # Inviting family is one tap away once registered.
        items = message.quick_reply.items  # type: ignore[attr-defined]
        assert items[-1].action.text == "家族を招待"
        (english,) = chat.worded(outcome, "en")
        assert ("watch-over" in english.text) is told  # type: ignore[attr-defined]


def test_a_resident_opts_out_from_line(
    session: Session, make_resident: Callable[..., Resident], post_webhook: Callable[..., Any]
) -> None:
    resident = make_resident()
    user_id, resident_id = resident.line_user_id, resident.id
    session.commit()
    assert post_webhook([text_event(user_id, "見守りをやめる")]).status_code == 200
    session.expire_all()
    assert watch_over.opted_out(session, resident_id)
    assert post_webhook([text_event(user_id, "見守りを受ける")]).status_code == 200
    session.expire_all()
    assert not watch_over.opted_out(session, resident_id)
    assert session.scalars(select(Resident.id).where(Resident.id == resident_id)).one()


def test_two_opt_outs_at_once_both_succeed(
    app: Flask, session: Session, clock: FakeClock, make_resident: Callable[..., Resident]
) -> None:
    # Two taps of 「見守りをやめる」 handled by two web workers at the same moment.
    resident_id = make_resident().id
    session.commit()
    late = race(
        app, lambda other: watch_over.opt_out(other, clock, other.get_one(Resident, resident_id))
    )
    assert not isinstance(late, Exception), late
    session.expire_all()
    assert watch_over.opted_out(session, resident_id)


def test_turning_it_on_tells_the_residents_already_registered_by_a_circular(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    dashboard_client: Callable[..., Any],
) -> None:
    """Residents registered before the association opted in are told by the notice circular, in
    their language, and listed once it reached them; one who had blocked the bot is not."""
    association = make_association(groups=("1班",))
    group = association.groups[0]
    user_ids = make_line_residents(3, association, group)
    residents = [
        session.scalars(select(Resident).where(Resident.line_user_id == u)).one() for u in user_ids
    ]
    residents[1].locale = "en"
    residents[2].follow_status = FollowStatus.blocked
    officer = make_staff(Role.officer, association_id=association.id)
    session.commit()
    response = opt_in(dashboard_client(officer), association.id, 2, follow_redirects=True)
    assert "登録している2人にお知らせを送ります" in response.get_data(as_text=True)
    assert worker.drain() == 2  # one batch per language
    titles = [sim.inbox(u)[0]["message"]["altText"] for u in user_ids[:2]]
    assert "見守りを始めます" in titles[0] and "Watch-over begins" in titles[1]
    assert sim.inbox(user_ids[2]) == []

    # The one who was away comes back; then nobody confirms two circulars.
    session.expire_all()
    session.get_one(Resident, residents[2].id).follow_status = FollowStatus.following
    for _n in range(2):
        clock.advance(days=1)
        circular = make_circular(status=CircularStatus.sent, released_at=clock.now())
        for resident in residents:
            session.add(
                Delivery(
                    circular=circular,
                    resident_id=resident.id,
                    status=DeliveryStatus.sent,
                    created_at=clock.now(),
                )
            )
    session.commit()
    listed = {w.resident_id for w in watch_over.not_confirming(session, group.id, 2)}
    assert listed == {residents[0].id, residents[1].id}


def test_turning_it_on_again_with_nobody_registered_sends_nothing(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    association = make_association(groups=("1班",))
    officer = make_staff(Role.officer, association_id=association.id)
    assert watch_over.set_association(session, clock, association.id, True, 3)
    assert watch_over_notice.announce(session, clock, officer, association.id, None) is None
    assert not watch_over.set_association(session, clock, association.id, True, 4)
    assert session.scalar(select(func.count()).select_from(Circular)) == 0


def test_a_notice_lines_quota_refuses_stays_a_draft_and_the_setting_is_kept(
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    association = make_association(groups=("1班",))
    make_line_residents(2, association, association.groups[0])
    officer = make_staff(Role.officer, association_id=association.id)
    session.commit()
    sim.set_quota(1, used=1)
    response = opt_in(dashboard_client(officer), association.id, 3, follow_redirects=True)
    assert "お知らせは送れませんでした" in response.get_data(as_text=True)
    session.expire_all()
    setting = watch_over.setting(session, association.id)
    assert setting is not None and setting.notice_circular_id is not None
    notice = session.get_one(Circular, setting.notice_circular_id)
    assert notice.status is CircularStatus.draft and notice.hold_reason
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0
