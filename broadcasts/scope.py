"""What a staff member may see: the city (admin), their districts (promoter), their
associations (officer) — and, once the role exists, a block leader's groups.

A `Scope` is built from the roles loaded for the request and turned into SQL conditions, so every
page, count and export filters in the database with the same rule. A staff member with several
roles sees the union.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from models import Association, Circular, CircularTarget, District, Group, Resident, Role, StaffRole


@dataclass(frozen=True)
class Scope:
    staff_member_id: int
    city: bool = False
    district_ids: frozenset[int] = frozenset()
    association_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, staff_member_id: int, roles: Iterable[StaffRole]) -> Scope:
        city = False
        districts: set[int] = set()
        associations: set[int] = set()
        for role in roles:
            if role.role is Role.admin:
                city = True
            elif role.role is Role.promoter and role.district_id is not None:
                districts.add(role.district_id)
            elif role.role is Role.officer and role.association_id is not None:
                associations.add(role.association_id)
        return cls(staff_member_id, city, frozenset(districts), frozenset(associations))

    @property
    def is_empty(self) -> bool:
        return not (self.city or self.district_ids or self.association_ids or self.group_ids)

    @property
    def is_officer(self) -> bool:
        """May see residents by name (who has not confirmed): officers, in their associations."""
        return bool(self.association_ids)

    # --- SQL conditions -------------------------------------------------------------------------

    def associations(self) -> ColumnElement[bool]:
        """On `Association`: the associations this scope covers, wholly or in part."""
        if self.city:
            return true()
        parts: list[ColumnElement[bool]] = []
        if self.district_ids:
            parts.append(Association.district_id.in_(self.district_ids))
        if self.association_ids:
            parts.append(Association.id.in_(self.association_ids))
        if self.group_ids:
            parts.append(
                Association.id.in_(select(Group.association_id).where(Group.id.in_(self.group_ids)))
            )
        return or_(*parts) if parts else false()

    def districts(self) -> ColumnElement[bool]:
        """On `District`."""
        if self.city:
            return true()
        return District.id.in_(select(Association.district_id).where(self.associations()))

    def residents(self) -> ColumnElement[bool]:
        """On `Resident`: by the resident's current registration."""
        if self.city:
            return true()
        parts: list[ColumnElement[bool]] = []
        if self.district_ids:
            parts.append(
                Resident.association_id.in_(
                    select(Association.id).where(Association.district_id.in_(self.district_ids))
                )
            )
        if self.association_ids:
            parts.append(Resident.association_id.in_(self.association_ids))
        if self.group_ids:
            parts.append(Resident.group_id.in_(self.group_ids))
        return or_(*parts) if parts else false()

    def named_residents(self) -> ColumnElement[bool]:
        """On `Resident`: those this scope may see by name — an association's residents for its
        officers, a 班's for its 班長 (`group_ids`); never by a district or the city."""
        parts: list[ColumnElement[bool]] = []
        if self.association_ids:
            parts.append(Resident.association_id.in_(self.association_ids))
        if self.group_ids:
            parts.append(Resident.group_id.in_(self.group_ids))
        return or_(*parts) if parts else false()

    def circulars(self) -> ColumnElement[bool]:
        """On `Circular`: circulars that reach into the scope, and the member's own."""
        if self.city:
            return true()
        visible = select(Association.id).where(self.associations())
        touches = exists(
            select(CircularTarget.id).where(
                CircularTarget.circular_id == Circular.id,
                or_(
                    CircularTarget.district_id.in_(
                        select(Association.district_id).where(self.associations())
                    ),
                    CircularTarget.association_id.in_(visible),
                    CircularTarget.group_id.in_(
                        select(Group.id).where(Group.association_id.in_(visible))
                    ),
                ),
            )
        )
        return or_(Circular.author_id == self.staff_member_id, touches)

    # --- checks on one row ----------------------------------------------------------------------

    def sees_circular(self, session: Session, circular_id: int) -> bool:
        found = session.scalar(
            select(Circular.id).where(Circular.id == circular_id, self.circulars())
        )
        return found is not None

    def sees_association(self, session: Session, association_id: int) -> bool:
        found = session.scalar(
            select(Association.id).where(Association.id == association_id, self.associations())
        )
        return found is not None

    def names_residents_of(self, association_id: int) -> bool:
        """Only an association's officers see its residents by name."""
        return association_id in self.association_ids


def load(session: Session, staff_member_id: int) -> Scope:
    """The scope from the roles the database holds now: a removed role stops working at once."""
    roles = session.scalars(select(StaffRole).where(StaffRole.staff_member_id == staff_member_id))
    return Scope.of(staff_member_id, roles)
