"""Who a circular reaches: the following, registered residents inside its target areas.

One function answers "who, how many, how much quota" for every front end's preview and for
release, so the number a promoter is shown is the number that is sent; and the tree of areas an
author may pick, each with the residents it reaches now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from models import (
    CARD,
    Association,
    Circular,
    Delivery,
    DeliveryStatus,
    District,
    FollowStatus,
    Group,
    InterestMembership,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)

# A Scope decides with a Target (staff/scope.py imports this module): only its type is needed.
if TYPE_CHECKING:
    from broadcasts.staff.scope import Scope


@dataclass(frozen=True)
class Target:
    """Any set of districts, associations and groups; overlaps are fine."""

    district_ids: frozenset[int] = frozenset()
    association_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()
    # Interest groups (their members) and associations whose 「役員会」 (their staff) it reaches.
    interest_group_ids: frozenset[int] = frozenset()
    staff_association_ids: frozenset[int] = frozenset()
    # A correction (訂正) goes to exactly the residents the circular it corrects went to.
    residents_of: int | None = None

    @classmethod
    def of(
        cls,
        districts: Iterable[int] = (),
        associations: Iterable[int] = (),
        groups: Iterable[int] = (),
        interest_groups: Iterable[int] = (),
        staff_of: Iterable[int] = (),
    ) -> Target:
        return cls(
            frozenset(districts),
            frozenset(associations),
            frozenset(groups),
            frozenset(interest_groups),
            frozenset(staff_of),
        )

    @classmethod
    def of_circular(cls, circular: Circular) -> Target:
        if circular.corrects_id is not None:
            return cls(residents_of=circular.corrects_id)
        return cls.of(
            (t.district_id for t in circular.targets if t.district_id is not None),
            (t.association_id for t in circular.targets if t.association_id is not None),
            (t.group_id for t in circular.targets if t.group_id is not None),
            (
                t.interest_group_id
                for t in circular.interest_targets
                if t.interest_group_id is not None
            ),
            (
                t.staff_association_id
                for t in circular.interest_targets
                if t.staff_association_id is not None
            ),
        )

    @classmethod
    def areas_of(cls, circular: Circular) -> Target:
        """The areas `circular` went round: a correction's are those of the circular it
        corrects (its own target is that circular's residents)."""
        return cls.of_circular(circular.corrects if circular.corrects is not None else circular)

    def is_empty(self) -> bool:
        return not (
            self.district_ids
            or self.association_ids
            or self.group_ids
            or self.interest_group_ids
            or self.staff_association_ids
            or self.residents_of
        )

    def areas(self) -> Target:
        """Only the areas (districts, associations, 班) of this target."""
        return Target(self.district_ids, self.association_ids, self.group_ids)


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
    if target.interest_group_ids:
        in_target.append(
            Resident.id.in_(
                select(InterestMembership.resident_id).where(
                    InterestMembership.interest_group_id.in_(target.interest_group_ids)
                )
            )
        )
    if target.staff_association_ids:
        in_target.append(Resident.line_user_id.in_(staff_line_ids(target.staff_association_ids)))
    if not in_target:
        return select(Resident.id).where(false())
    # Each resident is one row, so OR-ing the areas counts an overlap once.
    return select(Resident.id).where(
        Resident.follow_status == FollowStatus.following,
        Resident.association_id.is_not(None),
        or_(*in_target),
    )


def staff_line_ids(association_ids: Iterable[int]) -> Select[str]:
    """The LINE ids of the associations' 「役員会」: their officers and their 班長. A role whose
    term ended counts until the clock removes it (a few minutes at most)."""
    ids = list(association_ids)
    return (
        select(StaffMember.line_user_id)
        .join(StaffRole, StaffRole.staff_member_id == StaffMember.id)
        .where(
            or_(
                and_(StaffRole.role == Role.officer, StaffRole.association_id.in_(ids)),
                and_(
                    StaffRole.role == Role.group_leader,
                    StaffRole.group_id.in_(select(Group.id).where(Group.association_id.in_(ids))),
                ),
            )
        )
    )


def reach(session: Session, target: Target) -> Reach:
    count = session.scalar(select(func.count()).select_from(recipient_ids(target).subquery()))
    recipients = int(count or 0)
    return Reach(recipients=recipients, quota_messages=recipients)


# --- the areas an author may pick ---------------------------------------------------------------


@dataclass(frozen=True)
class GroupNode:
    id: int
    name: str
    recipients: int


@dataclass(frozen=True)
class AssociationNode:
    id: int
    name: str
    recipients: int
    paper_households: int
    groups: tuple[GroupNode, ...]


@dataclass(frozen=True)
class DistrictNode:
    id: int
    name: str
    # False for an officer: they may pick associations of this district, not all of it.
    selectable: bool
    recipients: int
    associations: tuple[AssociationNode, ...]


def allowed_target_tree(session: Session, scope: Scope) -> list[DistrictNode]:
    """The areas `scope` may target, district → association → group, each with the number of
    following, registered residents it reaches now (two grouped queries, whatever the size)."""
    if not scope.may_compose:
        return []
    associations = list(
        session.scalars(
            select(Association)
            .where(scope.whole_areas().associations())
            .order_by(Association.district_id, Association.kana)
        )
    )
    ids = [association.id for association in associations]
    following = (
        Resident.follow_status == FollowStatus.following,
        Resident.association_id.in_(ids),
    )
    by_association: dict[int | None, int] = dict(
        session.execute(
            select(Resident.association_id, func.count())
            .where(*following)
            .group_by(Resident.association_id)
        ).all()
    )
    by_group: dict[int | None, int] = dict(
        session.execute(
            select(Resident.group_id, func.count())
            .where(*following, Resident.group_id.is_not(None))
            .group_by(Resident.group_id)
        ).all()
    )
    tree: dict[int, list[AssociationNode]] = {}
    for association in associations:
        tree.setdefault(association.district_id, []).append(
            AssociationNode(
                id=association.id,
                name=association.name,
                recipients=by_association.get(association.id, 0),
                paper_households=association.paper_household_count,
                groups=tuple(
                    GroupNode(group.id, group.name, by_group.get(group.id, 0))
                    for group in association.groups
                ),
            )
        )
    districts = session.scalars(
        select(District).where(District.id.in_(tree)).order_by(District.kana)
    )
    return [
        DistrictNode(
            id=district.id,
            name=district.name,
            selectable=scope.city or district.id in scope.district_ids,
            recipients=sum(node.recipients for node in tree[district.id]),
            associations=tuple(tree[district.id]),
        )
        for district in districts
    ]
