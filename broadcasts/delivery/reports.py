"""What the engine reports: the newest circulars with their delivery counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Circular, CircularStatus, Delivery, DeliveryStatus


@dataclass(frozen=True)
class Listed:
    circular: Circular
    deliveries: int
    sent: int


def list_circulars(
    session: Session,
    status: CircularStatus | None = None,
    limit: int = 50,
) -> list[Listed]:
    """The newest circulars with delivery counts (for `kairan circulars list`)."""
    query = select(Circular).order_by(Circular.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Circular.status == status)
    circulars = list(session.scalars(query))
    counts: dict[tuple[int, DeliveryStatus], int] = {}
    if circulars:
        for circular_id, state, count in session.execute(
            select(Delivery.circular_id, Delivery.status, func.count())
            .where(Delivery.circular_id.in_([c.id for c in circulars]))
            .group_by(Delivery.circular_id, Delivery.status)
        ):
            counts[(circular_id, state)] = count
    return [
        Listed(
            c,
            sum(v for (cid, _), v in counts.items() if cid == c.id),
            counts.get((c.id, DeliveryStatus.sent), 0),
        )
        for c in circulars
    ]
