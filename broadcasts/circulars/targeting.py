"""Who a circular reaches: the following, registered residents inside its target areas.

One function answers "who, how many, how much quota" for every front end's preview and for
release, so the number a promoter is shown is the number that is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from models import CARD, Association, Circular, Delivery, DeliveryStatus, FollowStatus, Resident


@dataclass(frozen=True)
class Target:
    """Any set of districts, associations and groups; overlaps are fine."""

    district_ids: frozenset[int] = frozenset()
    association_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()
    # A correction (訂正) goes to exactly the residents the circular it corrects went to.
    residents_of: int | None = None

    @classmethod
    def of(
        cls,
        districts: Iterable[int] = (),
        associations: Iterable[int] = (),
        groups: Iterable[int] = (),
    ) -> Target:
        return cls(frozenset(districts), frozenset(associations), frozenset(groups))

    @classmethod
    def of_circular(cls, circular: Circular) -> Target:
        if circular.corrects_id is not None:
            return cls(residents_of=circular.corrects_id)
        return cls.of(
            (t.district_id for t in circular.targets if t.district_id is not None),
            (t.association_id for t in circular.targets if t.association_id is not None),
            (t.group_id for t in circular.targets if t.group_id is not None),
        )

    def is_empty(self) -> bool:
        return not (
            self.district_ids or self.association_ids or self.group_ids or self.residents_of
        )


@dataclass(frozen=True)
class Reach:
    recipients: int
    # LINE counts one message per recipient of a request, however many bubbles it carries.
    quota_messages: int


def recipient_ids(target: Target) -> Select[int]:
    """The ids of the residents a target reaches, each once, as a query to embed or run."""
    if target.residents_of is not None:
        # Whoever the original reached (or is still reaching), if they still follow; not those
        # it failed for or skipped, and regardless of where they are registered now.
        return (
            select(Resident.id)
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(
                Delivery.circular_id == target.residents_of,
                Delivery.slot == CARD,
                Delivery.status.in_((DeliveryStatus.sent, DeliveryStatus.pending)),
                Resident.follow_status == FollowStatus.following,
            )
        )
    in_target = []
    if target.district_ids:
        in_target.append(
            Resident.association_id.in_(
                select(Association.id).where(Association.district_id.in_(target.district_ids))
            )
        )
    if target.association_ids:
        in_target.append(Resident.association_id.in_(target.association_ids))
    if target.group_ids:
        in_target.append(Resident.group_id.in_(target.group_ids))
    if not in_target:
        return select(Resident.id).where(false())
    # Each resident is one row, so OR-ing the areas counts an overlap once.
    return select(Resident.id).where(
        Resident.follow_status == FollowStatus.following,
        Resident.association_id.is_not(None),
        or_(*in_target),
    )


def reach(session: Session, target: Target) -> Reach:
    count = session.scalar(select(func.count()).select_from(recipient_ids(target).subquery()))
    recipients = int(count or 0)
    return Reach(recipients=recipients, quota_messages=recipients)
