"""The watch-over hint (見守り): where an association opted in, its 班長 see the residents of
their own 班 who have not confirmed any of the last N circulars delivered to them — the stalled
stamp column of a paper circular, a reason to knock on a door. Only residents who were told are
listed: those who registered after the association opted in (the registration's reply says so),
and those who were already registered and got the notice circular sent when it opted in
(`watch_over_notice`). Anyone can opt out at any time; then they never appear.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.households.labels import staff_name
from models import (
    CARD,
    Acknowledgement,
    Circular,
    Delivery,
    DeliveryStatus,
    FollowStatus,
    Group,
    Resident,
    WatchOverOptOut,
    WatchOverSetting,
)

DEFAULT_COUNT = 3
MAX_COUNT = 20


class WatchOverError(Refused):
    """Refused as asked; `message` says why."""


def setting(session: Session, association_id: int | None) -> WatchOverSetting | None:
    return session.get(WatchOverSetting, association_id) if association_id is not None else None


def set_association(
    session: Session, clock: Clock, association_id: int, enabled: bool, count: int
) -> bool:
    """The officer's choice: on with the last `count` circulars, or off. True when this turned
    it on (the caller then announces it: watch_over_notice.announce)."""
    found = session.get(WatchOverSetting, association_id)
    if not enabled:
        if found is not None:
            session.delete(found)
            session.flush()
        return False
    if not 1 <= count <= MAX_COUNT:
        raise WatchOverError(
            StaffText("回覧の数は 1 から %(most)s までにしてください", most=MAX_COUNT)
        )
    turned_on = found is None
    if found is None:
        found = WatchOverSetting(association_id=association_id, enabled_at=clock.now())
        session.add(found)
    found.circular_count = count
    session.flush()
    return turned_on


def opted_out(session: Session, resident_id: int) -> bool:
    return session.get(WatchOverOptOut, resident_id) is not None


def opt_out(session: Session, clock: Clock, resident: Resident) -> None:
    # ON CONFLICT: two taps handled at once by two workers both find no row to check against.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(WatchOverOptOut)
        .values(resident_id=resident.id, opted_out_at=clock.now())
        .on_conflict_do_nothing(index_elements=["resident_id"])
    )


def opt_in(session: Session, resident: Resident) -> None:
    session.execute(delete(WatchOverOptOut).where(WatchOverOptOut.resident_id == resident.id))


@dataclass(frozen=True)
class Watched:
    resident_id: int
    # The name staff see (labels.staff_name).
    name: str | None


def not_confirming(session: Session, group_id: int, count: int) -> list[Watched]:
    """Following, registered residents of the 班 (not opted out) who got at least `count`
    circulars asking for a confirmation and confirmed none of the last `count`.

    Only residents who were told: those who registered after their association turned the
    hint on (the registration's reply says so and how to opt out), and those the notice circular
    reached (`watch_over_notice`). Nobody else is listed."""
    setting_of_group = (
        select(WatchOverSetting)
        .join(Group, Group.association_id == WatchOverSetting.association_id)
        .where(Group.id == group_id)
        .subquery()
    )
    told_since = select(setting_of_group.c.enabled_at).scalar_subquery()
    told_by_notice = select(Delivery.resident_id).where(
        Delivery.circular_id == select(setting_of_group.c.notice_circular_id).scalar_subquery(),
        Delivery.slot == CARD,
        Delivery.status == DeliveryStatus.sent,
    )
    ranked = (
        select(
            Delivery.resident_id.label("resident_id"),
            Delivery.circular_id.label("circular_id"),
            func.row_number()
            .over(
                partition_by=Delivery.resident_id,
                order_by=(Delivery.created_at.desc(), Delivery.id.desc()),
            )
            .label("n"),
        )
        .join(Resident, Resident.id == Delivery.resident_id)
        .join(Circular, Circular.id == Delivery.circular_id)
        .where(
            Resident.group_id == group_id,
            Delivery.slot == CARD,
            Delivery.status == DeliveryStatus.sent,
            Circular.confirmation_required.is_(True),
        )
        .subquery()
    )
    last = (
        select(ranked.c.resident_id)
        .outerjoin(
            Acknowledgement,
            and_(
                Acknowledgement.circular_id == ranked.c.circular_id,
                Acknowledgement.resident_id == ranked.c.resident_id,
            ),
        )
        .where(ranked.c.n <= count)
        .group_by(ranked.c.resident_id)
        .having(func.count() == count, func.count(Acknowledgement.id) == 0)
    )
    name = staff_name()
    rows = session.execute(
        select(Resident.id, name)
        .where(
            Resident.id.in_(last),
            Resident.group_id == group_id,
            Resident.follow_status == FollowStatus.following,
            Resident.unregistered_at.is_(None),
            or_(Resident.registered_at >= told_since, Resident.id.in_(told_by_notice)),
            Resident.id.not_in(select(WatchOverOptOut.resident_id)),
        )
        .order_by(name, Resident.id)
    )
    return [Watched(resident_id, name) for resident_id, name in rows]
