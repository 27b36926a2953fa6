"""Messages used this month per district (校区), from Kairan's own delivery records: every card
and follow-up LINE accepted since the month began (Asia/Tokyo, as LINE counts), counted where the
resident was registered when it was sent. A promoter sees their districts, an admin all of them.

Read through the batches LINE accepted this month (one row per up to 500 deliveries), then their
deliveries by batch (an index), so the page never reads the deliveries of earlier months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.budget import month_end, month_start
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    Association,
    BatchStatus,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    District,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class DistrictUse:
    district_id: int
    name: str
    cards: int
    follow_ups: int

    @property
    def total(self) -> int:
        return self.cards + self.follow_ups


@dataclass(frozen=True)
class MonthUse:
    start: datetime
    end: datetime
    rows: tuple[DistrictUse, ...]
    # Every district in the viewer's scope, over all pages.
    districts: int
    # Messages used in the viewer's districts this month, over all pages.
    total: int


def month_use(session: Session, scope: Scope, now: datetime, page: int = 1) -> MonthUse:
    """This month's messages per district in `scope`, a page of PAGE_SIZE districts by name."""
    start, end = month_start(now), month_end(now)
    districts = select(District.id, District.name)
    if not scope.city:
        districts = districts.where(District.id.in_(scope.district_ids))
    listed = districts.subquery()
    batches = select(DeliveryBatch.id).where(
        DeliveryBatch.status == BatchStatus.accepted,
        DeliveryBatch.completed_at >= start,
        DeliveryBatch.completed_at < end,
    )
    used = (
        select(
            Association.district_id.label("district_id"),
            func.sum(case((Delivery.slot == CARD, 1), else_=0)).label("cards"),
            func.sum(case((Delivery.slot != CARD, 1), else_=0)).label("follow_ups"),
        )
        .join(Association, Association.id == Delivery.association_id)
        .where(Delivery.batch_id.in_(batches), Delivery.status == DeliveryStatus.sent)
        .group_by(Association.district_id)
        .subquery()
    )
    count = int(session.scalar(select(func.count()).select_from(listed)) or 0)
    total = int(
        session.scalar(
            select(func.coalesce(func.sum(used.c.cards + used.c.follow_ups), 0)).join(
                listed, listed.c.id == used.c.district_id
            )
        )
        or 0
    )
    rows = session.execute(
        select(listed.c.id, listed.c.name, used.c.cards, used.c.follow_ups)
        .outerjoin(used, used.c.district_id == listed.c.id)
        .order_by(listed.c.name, listed.c.id)
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    ).all()
    return MonthUse(
        start=start,
        end=end,
        rows=tuple(
            DistrictUse(int(i), name, int(cards or 0), int(follow_ups or 0))
            for i, name, cards, follow_ups in rows
        ),
        districts=count,
        total=total,
    )
