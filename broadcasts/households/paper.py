"""Paper households (紙の世帯) per 班, the paper copies a circular needs, the 班 a circular
reaches, and coverage per 班 (the 班長's proxy confirmations are in proxy.py).

Where an association has groups, its paper households are kept per 班 here and
`Association.paper_household_count` is their sum, written by the same function, so the
association figure (reach, CSV) can never disagree. An association without groups keeps the
single count on the association.

Coverage of a circular in a 班 is measured in households: LINE households the card reached
and where someone confirmed, plus paper households the 班長 confirmed for, against LINE
households reached plus paper households. It reaches 100% only when every household has seen it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    Association,
    Circular,
    Delivery,
    DeliveryStatus,
    Group,
    PaperHousehold,
    ProxyConfirmation,
)

LABEL_LIMIT = 100


class PaperError(Refused):
    """Refused as asked; `message` says why."""


# --- keeping the list ---------------------------------------------------------------------------


def active(session: Session, group_id: int) -> list[PaperHousehold]:
    return list(
        session.scalars(
            select(PaperHousehold)
            .where(PaperHousehold.group_id == group_id, PaperHousehold.removed_at.is_(None))
            .order_by(PaperHousehold.position, PaperHousehold.id)
        )
    )


def set_group(
    session: Session, clock: Clock, group: Group, count: int, labels: Sequence[str] = ()
) -> None:
    """The 班's paper households: `count` of them, the first ones named by `labels` (optional).

    Existing rows are kept in order and relabelled; surplus ones are marked removed (their past
    proxy confirmations stay); missing ones are added. The association's count follows.
    """
    cleaned = [label.strip() for label in labels if label.strip()]
    if count < 0:
        raise PaperError(StaffText("紙の世帯数は 0 以上にしてください"))
    if len(cleaned) > count:
        raise PaperError(StaffText("名前の数が世帯数より多くなっています"))
    if any(len(label) > LABEL_LIMIT for label in cleaned):
        raise PaperError(StaffText("名前は%(limit)s文字までにしてください", limit=LABEL_LIMIT))
    now = clock.now()
    rows = active(session, group.id)
    position = max((row.position for row in rows), default=0)
    for index in range(count):
        label = cleaned[index] if index < len(cleaned) else None
        if index < len(rows):
            rows[index].label = label
        else:
            position += 1
            session.add(
                PaperHousehold(group_id=group.id, position=position, label=label, created_at=now)
            )
    for row in rows[count:]:
        row.removed_at = now
    session.flush()
    association = group.association
    total = int(
        session.scalar(
            select(func.count())
            .select_from(PaperHousehold)
            .join(Group, Group.id == PaperHousehold.group_id)
            .where(Group.association_id == association.id, PaperHousehold.removed_at.is_(None))
        )
        or 0
    )
    if total > association.household_count:
        raise PaperError(StaffText("紙の世帯が自治会の世帯数より多くなります"))
    association.paper_household_count = total
    session.flush()


def kept_per_group(session: Session, association_ids: Any) -> set[int]:
    """Of `association_ids` (ids or a subquery), those whose officers keep paper households per
    班: for them the per-班 list is the source and the association's count follows it."""
    return set(
        session.scalars(
            select(Group.association_id)
            .join(PaperHousehold, PaperHousehold.group_id == Group.id)
            .where(Group.association_id.in_(association_ids))
            .distinct()
        )
    )


def counts_by_group(session: Session, group_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(PaperHousehold.group_id, func.count())
        .where(PaperHousehold.group_id.in_(group_ids), PaperHousehold.removed_at.is_(None))
        .group_by(PaperHousehold.group_id)
    )
    return {group_id: int(count) for group_id, count in rows}


# --- the circular's paper run -------------------------------------------------------------------


@dataclass(frozen=True)
class CopiesRow:
    association_id: int
    association: str
    group: str | None
    copies: int


def copies(
    session: Session,
    district_ids: Sequence[int],
    association_ids: Sequence[int],
    group_ids: Sequence[int],
) -> list[CopiesRow]:
    """Paper copies per 班 for the targeted areas. An association whose officers have not
    (yet) kept paper households per 班 gives its own count: on one row when targeted whole,
    on the 班's row when a 班 of it is targeted on its own."""
    whole = set(association_ids)
    if district_ids:
        whole.update(
            session.scalars(select(Association.id).where(Association.district_id.in_(district_ids)))
        )
    per_group_kept = kept_per_group(
        session,
        select(Group.association_id).where(
            or_(Group.association_id.in_(whole), Group.id.in_(group_ids))
        ),
    )
    groups = list(
        session.scalars(
            select(Group).where(
                or_(
                    Group.association_id.in_(whole & per_group_kept),
                    and_(Group.id.in_(group_ids), Group.association_id.not_in(whole)),
                )
            )
        )
    )
    per_group = counts_by_group(session, [group.id for group in groups])
    rows: list[tuple[str, int, int, CopiesRow]] = []
    for association in session.scalars(
        select(Association).where(Association.id.in_(whole - per_group_kept))
    ):
        row = CopiesRow(association.id, association.name, None, association.paper_household_count)
        rows.append((association.kana, association.id, 0, row))
    for group in groups:
        association = group.association
        count = (
            per_group.get(group.id, 0)
            if association.id in per_group_kept
            else association.paper_household_count
        )
        row = CopiesRow(association.id, association.name, group.name, count)
        rows.append((association.kana, association.id, group.position, row))
    return [row for *_key, row in sorted(rows, key=lambda item: item[:3])]


# --- the 班 a circular reaches -------------------------------------------------------------------


def groups_reached(circular: Circular) -> Select[Any]:
    """Ids of the groups a circular's targets cover (a correction carries its original's)."""
    district_ids = [t.district_id for t in circular.targets if t.district_id is not None]
    association_ids = [t.association_id for t in circular.targets if t.association_id is not None]
    group_ids = [t.group_id for t in circular.targets if t.group_id is not None]
    return select(Group.id).where(
        or_(
            Group.id.in_(group_ids),
            Group.association_id.in_(association_ids),
            Group.association_id.in_(
                select(Association.id).where(Association.district_id.in_(district_ids))
            ),
        )
    )


def reaches(session: Session, circular: Circular, group_id: int) -> bool:
    """Whether the circular's targets cover the group (one index look-up, not the list)."""
    return session.scalar(groups_reached(circular).where(Group.id == group_id)) is not None


# --- coverage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    group_id: int
    group: str
    association: str
    line_households: int
    line_confirmed: int
    paper_households: int
    paper_confirmed: int

    @property
    def households(self) -> int:
        return self.line_households + self.paper_households

    @property
    def covered(self) -> int:
        return self.line_confirmed + self.paper_confirmed

    @property
    def rate(self) -> float | None:
        return self.covered / self.households if self.households else None


def coverage(
    session: Session, circular: Circular, scope: Scope, association_id: int | None = None
) -> list[Coverage]:
    """Per 班 the circular reaches and the scope covers (of one association, if given), in the
    association's order. LINE households are counted by the 班 and household each delivery
    recorded when it was written."""
    one = () if association_id is None else (Group.association_id == association_id,)
    groups = session.execute(
        select(Group.id, Group.name, Association.name, Association.id)
        .join(Association, Association.id == Group.association_id)
        .where(Group.id.in_(groups_reached(circular)), scope.groups(), *one)
        .order_by(Association.kana, Association.id, Group.position, Group.id)
    ).all()
    if not groups:
        return []
    ids = [group_id for group_id, *_names in groups]
    sent = (
        Delivery.circular_id == circular.id,
        Delivery.slot == CARD,
        # A 班's deliveries are its association's: said, so the index's range is that narrow.
        Delivery.association_id.in_({row[3] for row in groups}),
        Delivery.group_id.in_(ids),
        Delivery.status == DeliveryStatus.sent,
    )
    line: dict[int | None, tuple[int, int]] = {}
    # Households of one are their residents; households of several are counted once per 班.
    for group_id, households, confirmed in session.execute(
        select(Delivery.group_id, func.count(), func.sum(case((Delivery.confirmed, 1), else_=0)))
        .where(*sent, Delivery.household_key < 0)
        .group_by(Delivery.group_id)
    ):
        line[group_id] = (int(households), int(confirmed or 0))
    for group_id, households, confirmed in session.execute(
        select(
            Delivery.group_id,
            func.count(func.distinct(Delivery.household_key)),
            func.count(func.distinct(case((Delivery.confirmed, Delivery.household_key)))),
        )
        .where(*sent, Delivery.household_key > 0)
        .group_by(Delivery.group_id)
    ):
        alone = line.get(group_id, (0, 0))
        line[group_id] = (alone[0] + int(households), alone[1] + int(confirmed))
    paper = {
        row.group_id: (int(row.households), int(row.confirmed))
        for row in session.execute(
            select(
                PaperHousehold.group_id,
                func.count(PaperHousehold.id).label("households"),
                func.count(ProxyConfirmation.id).label("confirmed"),
            )
            .outerjoin(
                ProxyConfirmation,
                and_(
                    ProxyConfirmation.paper_household_id == PaperHousehold.id,
                    ProxyConfirmation.circular_id == circular.id,
                ),
            )
            .where(PaperHousehold.group_id.in_(ids), PaperHousehold.removed_at.is_(None))
            .group_by(PaperHousehold.group_id)
        )
    }
    return [
        Coverage(
            group_id,
            group,
            association,
            *line.get(group_id, (0, 0)),
            *paper.get(group_id, (0, 0)),
        )
        for group_id, group, association, _association_id in groups
    ]


def associations_reached(
    session: Session, circular: Circular, scope: Scope
) -> list[tuple[int, str]]:
    """(id, name) of the associations whose 班 the circular reaches and the scope covers: those
    `coverage` has rows for, with or without LINE residents."""
    return [
        (association_id, name)
        for association_id, name in session.execute(
            select(Association.id, Association.name)
            .where(
                Association.id.in_(
                    select(Group.association_id).where(
                        Group.id.in_(groups_reached(circular)), scope.groups()
                    )
                )
            )
            .order_by(Association.kana, Association.id)
        )
    ]
