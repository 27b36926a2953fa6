"""Households (世帯): invites from LINE, counting by household, one confirmation per household."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.core.clock import TOKYO
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.households import families, watch_over
from broadcasts.residents import acknowledgements
from broadcasts.residents.registration import Profile
from broadcasts.schedule.jobs import ClockSettings, Clockwork
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from broadcasts.stats.circular_counts import summary
from broadcasts.stats.digital_reach import reach_by_association
from linebot_app.chat import registration as chat_registration
from linebot_app.chat import routes
from linebot_app.chat.context import Context, Sent
from linebot_app.extensions import db, line
from models import (
    Acknowledgement,
    Association,
    Channel,
    Circular,
    CircularTarget,
    District,
    DistrictStatus,
    HouseholdInvite,
    HouseholdMember,
    Resident,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.webhooks import postback_event, text_event

CITY = Scope(0, city=True)


def tokyo(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=TOKYO)


def resident_of(session: Session, user_id: str) -> Resident:
    return session.scalars(select(Resident).where(Resident.line_user_id == user_id)).one()


def family(session: Session, clock: FakeClock, residents: list[Resident]) -> None:
    """The first resident invites the others, who each join with their own code."""
    for member in residents[1:]:
        invited = families.invite(session, clock, residents[0])
        assert invited.code is not None
        code = families.CODE.typed(invited.code)
        assert code is not None
        assert families.join(session, clock, member, code) == "joined"
    session.commit()


@pytest.fixture
def association(make_association: Callable[..., Association]) -> Association:
    return make_association(name="梅町内会")


def released(session: Session, clock: FakeClock, worker: Worker, circular: Circular) -> Circular:
    result = release(session, clock, circular, remaining_quota(line()))
    assert result.released, result.reason
    session.commit()
    worker.drain()
    return circular


def test_a_household_of_three_counts_once_and_one_confirmation_confirms_for_all(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    association: Association,
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> None:
    user_ids = make_line_residents(5, association)
    residents = [resident_of(session, user_id) for user_id in user_ids]
    family(session, clock, residents[:3])
    # Reach: five LINE residents, three of them one household.
    (reach,) = reach_by_association(session, CITY)
    assert reach.registered == 3

    clock.moment = tokyo(1, 10)
    circular = make_circular(
        targets=[CircularTarget(association=association)], one_per_household=True
    )
    released(session, clock, worker, circular)
    assert families.summary(session, circular.id, CITY) == families.HouseholdCounts(3, 0)

    assert acknowledgements.confirm(session, clock, residents[1], circular.id) == "confirmed"
    session.commit()
    counted = families.summary(session, circular.id, CITY)
    assert (counted.delivered, counted.confirmed) == (3, 1)
    channels = dict(
        session.execute(
            select(Acknowledgement.resident_id, Acknowledgement.channel).where(
                Acknowledgement.circular_id == circular.id
            )
        ).all()
    )
    assert channels == {
        residents[0].id: Channel.household,
        residents[1].id: Channel.line,
        residents[2].id: Channel.household,
    }
    # The other two's cards still work: their tap is simply "already".
    assert acknowledgements.confirm(session, clock, residents[2], circular.id) == "already"
    session.commit()

    # The reminder after 24 hours goes to the two residents outside the household only.
    clockwork = Clockwork(
        db.sessionmaker,
        line(),
        clock,
        ClockSettings(quiet_hours=QuietHours.parse("21:00-08:00"), dashboard_url="https://k/"),
        holder="clock-h",
        random=lambda: 0.5,
    )
    clock.moment = tokyo(2, 10)
    clockwork.tick()
    worker.drain()
    counts = sim.inbox_counts()
    assert [counts.get(user_id, 0) for user_id in user_ids] == [1, 1, 1, 2, 2]


def test_without_one_per_household_each_member_confirms_for_themselves(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    association: Association,
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> None:
    residents = [resident_of(session, u) for u in make_line_residents(3, association)]
    family(session, clock, residents)
    circular = make_circular(targets=[CircularTarget(association=association)])
    released(session, clock, worker, circular)
    acknowledgements.confirm(session, clock, residents[0], circular.id)
    session.commit()
    assert summary(session, circular.id, CITY).confirmed == 1
    assert families.summary(session, circular.id, CITY) == families.HouseholdCounts(1, 1)


def test_invite_codes_are_single_use_expire_and_are_stored_hashed(
    session: Session, clock: FakeClock, make_resident: Callable[..., Resident]
) -> None:
    association = session.get_one(Association, make_resident().association_id)
    inviter = make_resident(association=association, registered_at=clock.now())
    first, second = make_resident(), make_resident()
    invited = families.invite(session, clock, inviter)
    assert invited.code is not None and invited.code.startswith("KAZOKU-")
    code = families.CODE.typed(invited.code.lower().replace("-", " "))
    assert code is not None
    stored = session.scalars(select(HouseholdInvite.code_hash)).one()
    assert code not in stored and invited.code not in stored
    assert families.join(session, clock, first, code) == "joined"
    assert families.join(session, clock, second, code) == "used"
    # The family member lives at the inviter's address: same association and 班.
    assert first.association_id == inviter.association_id
    late = families.invite(session, clock, inviter)
    assert late.code is not None
    clock.advance(days=3, seconds=1)
    assert families.join(session, clock, second, families.CODE.typed(late.code) or "") == (
        "expired"
    )
    assert families.join(session, clock, second, "0" * 12) == "unknown"
    assert families.members(session, inviter.id) == sorted([inviter.id, first.id])


def test_a_resident_leaves_and_becomes_a_household_of_one(
    session: Session, clock: FakeClock, make_resident: Callable[..., Resident]
) -> None:
    inviter = make_resident(registered_at=clock.now())
    other = make_resident()
    code = families.CODE.typed(families.invite(session, clock, inviter).code or "")
    assert code is not None and families.join(session, clock, other, code) == "joined"
    assert families.leave(session, other) is True
    assert families.leave(session, other) is False
    assert families.members(session, other.id) == [other.id]
    assert families.members(session, inviter.id) == [inviter.id]


def test_inviting_and_joining_from_line(
    post_webhook: Callable[..., object],
    session: Session,
    make_resident: Callable[..., Resident],
) -> None:
    inviter = make_resident(registered_at=datetime(2026, 11, 1, tzinfo=TOKYO))
    inviter_id = inviter.id
    user_id = inviter.line_user_id
    newcomer = "U" + "7" * 32
    session.commit()
    assert post_webhook([text_event(user_id, "家族を招待")]).status_code == 200  # type: ignore[attr-defined]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(HouseholdInvite)) == 1
    # The code itself is only in the reply; here a second one is made by the service.
    clock = FakeClock(datetime.now(TOKYO) + timedelta(seconds=1))
    code = families.invite(session, clock, session.get_one(Resident, inviter_id)).code
    session.commit()
    assert post_webhook([text_event(newcomer, code or "")]).status_code == 200  # type: ignore[attr-defined]
    session.expire_all()
    joined = resident_of(session, newcomer)
    assert families.members(session, joined.id) == sorted([inviter_id, joined.id])
    assert joined.association_id == session.get_one(Resident, inviter_id).association_id
    assert post_webhook([text_event(newcomer, "世帯をぬける")]).status_code == 200  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(HouseholdMember, joined.id) is None
    # A forged proxy postback from a resident changes nothing.
    assert post_webhook([postback_event(newcomer, "pxy:h:1:1")]).status_code == 200  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", [None, "en"])
def test_joining_a_family_tells_what_registering_would_have_told(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    language: str | None,
) -> None:
    # Joining registers the newcomer at the family's association: they are owed its notices.
    watched = make_association(district=make_district(status=DistrictStatus.preparing))
    watch_over.set_association(session, clock, watched.id, True, 3)
    inviter = make_resident(association=watched, registered_at=clock.now())
    plain = make_resident(registered_at=clock.now())

    def joined(at: Resident, user_id: str) -> str:
        code = families.invite(session, clock, at).code or ""
        context = Context(session, clock, user_id, Profile(None, language))
        reply = routes.answer(context, Sent.typed(code))
        assert reply is not None
        return "\n".join(message.text for message in reply)  # type: ignore[attr-defined]

    told = joined(inviter, "U" + "5" * 32)
    assert "見守りをやめる" in told
    assert chat_registration.preparing_note(watched.district.name, language).text in told
    untold = joined(plain, "U" + "6" * 32)
    assert "見守りをやめる" not in untold and watched.district.name not in untold
