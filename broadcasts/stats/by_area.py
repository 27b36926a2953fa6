"""A circular's counts by area: district → association → group, by the area each card was sent
to (not where its resident lives now), in the city's reading order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.staff.scope import Scope
from broadcasts.stats.circular_counts import (
    COUNT_FIELDS,
    Counts,
    card_deliveries,
    count_columns,
    flag_sum,
)
from models import Association, Delivery, DeliveryStatus, District, Group


def _alone_columns() -> list[Any]:
    """Delivered residents who are a household of one (a negative key), and those of them who
    confirmed (see households.summary)."""
    sent = (Delivery.status == DeliveryStatus.sent) & (Delivery.household_key < 0)
    return [flag_sum(sent), flag_sum(sent & Delivery.confirmed)]


@dataclass
class AreaRow:
    level: str  # "district", "association", "group"
    id: int | None
    name: str
    counts: Counts = field(default_factory=Counts)
    district_name: str = ""
    association_name: str = ""
    # The association a group row belongs to (and an association row's own id).
    association_id: int | None = None
    # Of its delivered residents, those who are a household of one, and of those the ones who
    # confirmed: counted in the same pass for `households.summary`, which counts the rest.
    alone: tuple[int, int] = (0, 0)


def breakdown(session: Session, circular_id: int, scope: Scope) -> list[AreaRow]:
    """District → association → group, each with its subtotal, in the city's reading order.

    One grouped pass over the circular's deliveries, by the area each was sent to; the tree is
    built from its rows (one per group at most), adding plain lists: at city scale (1,500 班)
    building a `Counts` per addition was a third of the page. Its districts add up to `summary`
    (see `total`).
    """
    rows = session.execute(
        card_deliveries(
            [
                Delivery.association_id,
                Delivery.group_id,
                *count_columns(),
                *_alone_columns(),
            ],
            scope,
            Delivery.circular_id == circular_id,
        ).group_by(Delivery.association_id, Delivery.group_id)
    ).all()
    association_ids = {row[0] for row in rows if row[0] is not None}
    group_ids = {row[1] for row in rows if row[1] is not None}
    # association id → (name, kana, district id, district name, district kana)
    associations: dict[int | None, tuple[str, str, int | None, str, str]] = {
        aid: (name, kana, did, district, district_kana)
        for aid, name, kana, did, district, district_kana in session.execute(
            select(
                Association.id,
                Association.name,
                Association.kana,
                District.id,
                District.name,
                District.kana,
            )
            .join(District, District.id == Association.district_id)
            .where(Association.id.in_(association_ids))
        )
    }
    groups = {
        gid: (name, position)
        for gid, name, position in session.execute(
            select(Group.id, Group.name, Group.position).where(Group.id.in_(group_ids))
        )
    }
    # Deliveries of residents registered nowhere (or in an association since removed).
    nowhere = ("（登録なし）", "", None, "（登録なし）", "")
    width = len(COUNT_FIELDS) + 2
    district_sums: dict[int | None, list[int]] = {}
    association_sums: dict[int | None, list[int]] = {}
    # association id → [(position, group id, name, counts)]
    group_rows: dict[int | None, list[tuple[int, int, str, list[int]]]] = {}
    for association_id, group_id, *values in rows:
        numbers = [int(value or 0) for value in values]
        district_id = associations.get(association_id, nowhere)[2]
        for sums, key in ((district_sums, district_id), (association_sums, association_id)):
            total = sums.setdefault(key, [0] * width)
            for i in range(width):
                total[i] += numbers[i]
        if group_id is not None:
            name, position = groups.get(group_id, ("?", 0))
            group_rows.setdefault(association_id, []).append((position, group_id, name, numbers))

    def known(association_id: int | None) -> tuple[str, str, int | None, str, str]:
        return associations.get(association_id, nowhere)

    by_district: dict[int | None, list[int | None]] = {}
    for association_id in sorted(
        association_sums, key=lambda a: (a not in associations, known(a)[1], a or 0)
    ):
        by_district.setdefault(known(association_id)[2], []).append(association_id)
    ordered: list[AreaRow] = []
    for district_id, members in sorted(
        by_district.items(), key=lambda item: (item[0] is None, known(item[1][0])[4], item[0] or 0)
    ):
        district_name = known(members[0])[3]
        ordered.append(
            AreaRow(
                "district",
                district_id,
                district_name,
                Counts(*district_sums[district_id][:-2]),
                alone=(district_sums[district_id][-2], district_sums[district_id][-1]),
            )
        )
        for association_id in members:
            name = known(association_id)[0]
            ordered.append(
                AreaRow(
                    "association",
                    association_id,
                    name,
                    Counts(*association_sums[association_id][:-2]),
                    district_name,
                    association_id=association_id,
                )
            )
            ordered.extend(
                AreaRow(
                    "group",
                    group_id,
                    group_name,
                    Counts(*numbers[:-2]),
                    district_name,
                    name,
                    association_id,
                )
                for _position, group_id, group_name, numbers in sorted(
                    group_rows.get(association_id, []), key=lambda g: g[:2]
                )
            )
    return ordered


def alone(rows: Sequence[AreaRow]) -> tuple[int, int]:
    """The `AreaRow.alone` of a whole breakdown (its districts'), for households.summary."""
    districts = [row.alone for row in rows if row.level == "district"]
    return (sum(a for a, _ in districts), sum(c for _, c in districts))


def total(rows: Sequence[AreaRow]) -> Counts:
    """The `summary` of a breakdown, without counting the circular's deliveries a second time:
    every delivery in scope is in exactly one district row ("（登録なし）" included)."""
    counts = Counts()
    for row in rows:
        if row.level == "district":
            counts += row.counts
    return counts
