"""The database itself makes duplicates impossible; these tests bypass every service."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Acknowledgement,
    Association,
    Channel,
    Circular,
    CircularTarget,
    Delivery,
    DeliveryBatch,
    District,
    Open,
    ProcessedWebhookEvent,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)


def test_one_delivery_per_circular_and_resident(
    session: Session, make_circular: Callable[..., Circular], make_resident: Callable[..., Resident]
) -> None:
    circular, resident = make_circular(), make_resident()
    session.add(Delivery(circular=circular, resident=resident))
    session.flush()
    session.add(Delivery(circular=circular, resident=resident))
    with pytest.raises(IntegrityError):
        session.flush()


def test_one_acknowledgement_and_one_open_per_circular_and_resident(
    session: Session, make_circular: Callable[..., Circular], make_resident: Callable[..., Resident]
) -> None:
    circular, resident = make_circular(), make_resident()
    for model in (Acknowledgement, Open):
        extra = {"channel": Channel.line} if model is Acknowledgement else {}
        session.add(model(circular_id=circular.id, resident_id=resident.id, **extra))
        session.flush()
        session.add(model(circular_id=circular.id, resident_id=resident.id, **extra))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        circular, resident = make_circular(), make_resident()


def test_one_record_per_webhook_event_id(session: Session) -> None:
    session.add(
        ProcessedWebhookEvent(webhook_event_id="01KAIRAN0000000000000000EV", event_type="postback")
    )
    session.flush()
    session.add(
        ProcessedWebhookEvent(webhook_event_id="01KAIRAN0000000000000000EV", event_type="postback")
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_retry_keys_are_unique_and_survive_a_round_trip(
    session: Session, make_circular: Callable[..., Circular]
) -> None:
    circular = make_circular()
    batch = DeliveryBatch(circular=circular)
    session.add(batch)
    session.flush()
    key = batch.retry_key
    session.expire_all()
    assert session.get(DeliveryBatch, batch.id).retry_key == key  # type: ignore[union-attr]
    session.add(DeliveryBatch(circular=circular, retry_key=key))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_target_names_exactly_one_area(
    session: Session,
    make_circular: Callable[..., Circular],
    make_association: Callable[..., Association],
) -> None:
    circular, association = make_circular(), make_association()
    session.add(CircularTarget(circular=circular, association=association))
    session.flush()
    session.add(CircularTarget(circular=circular, association=association))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    circular, association = make_circular(), make_association()
    session.add(
        CircularTarget(circular=circular, association=association, district=association.district)
    )
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.admin, "district"),
        (Role.promoter, None),
        (Role.promoter, "association"),
        (Role.officer, "district"),
    ],
)
def test_a_role_covers_the_area_its_kind_needs(
    session: Session,
    make_association: Callable[..., Association],
    role: Role,
    scope: str | None,
) -> None:
    association = make_association()
    areas = {"district": association.district, "association": association}
    member = StaffMember(line_user_id="U" + "a" * 32)
    member.roles.append(StaffRole(role=role, **({scope: areas[scope]} if scope else {})))
    session.add(member)
    with pytest.raises(IntegrityError):
        session.flush()


def test_admin_once_per_person(session: Session, make_staff: Callable[..., StaffMember]) -> None:
    member = make_staff(Role.admin)
    member.roles.append(StaffRole(role=Role.admin))
    with pytest.raises(IntegrityError):
        session.flush()


def test_paper_households_never_exceed_households(
    session: Session, make_district: Callable[..., District]
) -> None:
    session.add(
        Association(
            district=make_district(),
            code="A-paper",
            name="紙",
            kana="かみ",
            household_count=10,
            paper_household_count=11,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_timestamps_come_back_as_aware_utc(
    session: Session, make_circular: Callable[..., Circular]
) -> None:
    tokyo_nine = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    circular = make_circular(scheduled_at=tokyo_nine)
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Circular.scheduled_at).where(Circular.id == circular.id)).one()
    assert stored == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert stored is not None and stored.utcoffset() == timedelta(0)
