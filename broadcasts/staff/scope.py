"""What a staff member may do, by their roles: the city (admin), their districts (promoter),
their associations (officer), their groups (班長, block leader). A staff member with several
roles gets the union.

One `Scope` answers every front end (the dashboard, LINE, the CLI) and every service:

- `may_see`: circulars, residents, counts, exports — turned into SQL conditions, so every page,
  count and export filters in the database with the same rule;
- `may_target`: the areas a circular may be sent to. Admins anything; promoters their
  districts with their associations and groups; officers their associations and their groups,
  never a whole district; a 班長 (and anybody else) nothing: `may_compose` is False;
- `may_manage`: whether a circular may be changed, sent, scheduled, cancelled or corrected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcasts.circulars.targeting import Target
from models import (
    Association,
    Circular,
    CircularInterestTarget,
    CircularTarget,
    Delivery,
    District,
    Group,
    InterestGroup,
    Posters,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)

# The scope of nobody (a resident, or no staff member at all): no staff member has id 0.
NOBODY = 0


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
        groups: set[int] = set()
        for role in roles:
            if role.role is Role.admin:
                city = True
            elif role.role is Role.promoter and role.district_id is not None:
                districts.add(role.district_id)
            elif role.role is Role.officer and role.association_id is not None:
                associations.add(role.association_id)
            elif role.role is Role.group_leader and role.group_id is not None:
                groups.add(role.group_id)
        return cls(
            staff_member_id,
            city,
            frozenset(districts),
            frozenset(associations),
            frozenset(groups),
        )

    @classmethod
    def of_member(cls, member: StaffMember | None) -> Scope:
        """The scope of `member`'s roles as loaded; an empty one for None (a resident)."""
        if member is None:
            return cls(NOBODY)
        return cls.of(member.id, member.roles)

    def whole_areas(self) -> Scope:
        """This scope without the 班 of a 班長: the areas it covers whole, the ones it may send
        to."""
        return replace(self, group_ids=frozenset())

    @property
    def is_empty(self) -> bool:
        return not (self.city or self.district_ids or self.association_ids or self.group_ids)

    @property
    def groups_only(self) -> bool:
        """A 班長 and nothing more: sees their own 班, never association-wide figures."""
        return bool(self.group_ids) and not (self.city or self.district_ids or self.association_ids)

    @property
    def may_compose(self) -> bool:
        """Admins, promoters and officers write circulars; a 班長 as such does not."""
        return self.city or bool(self.district_ids or self.association_ids)

    @property
    def may_send_urgent(self) -> bool:
        """至急 (delivered even in quiet hours), and so a safety check: admins and promoters,
        not officers."""
        return self.city or bool(self.district_ids)

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

    def districts_whole(self) -> ColumnElement[bool]:
        """On `District`: the districts this scope covers wholly (a promoter's, or the city)."""
        if self.city:
            return true()
        return District.id.in_(self.district_ids) if self.district_ids else false()

    def associations_whole(self) -> ColumnElement[bool]:
        """On `Association`: the associations this scope covers wholly (not through a 班)."""
        return Scope(
            self.staff_member_id, self.city, self.district_ids, self.association_ids
        ).associations()

    def districts(self) -> ColumnElement[bool]:
        """On `District`."""
        if self.city:
            return true()
        return District.id.in_(select(Association.district_id).where(self.associations()))

    def residents(self) -> ColumnElement[bool]:
        """On `Resident`: by the resident's current registration."""
        return self._areas(Resident.association_id, Resident.group_id)

    def deliveries(self) -> ColumnElement[bool]:
        """On `Delivery`: by where the resident was registered when it was written."""
        return self._areas(Delivery.association_id, Delivery.group_id)

    def _areas(
        self,
        association_id: InstrumentedAttribute[int | None],
        group_id: InstrumentedAttribute[int | None],
    ) -> ColumnElement[bool]:
        if self.city:
            return true()
        parts: list[ColumnElement[bool]] = []
        if self.district_ids:
            parts.append(
                association_id.in_(
                    select(Association.id).where(Association.district_id.in_(self.district_ids))
                )
            )
        if self.association_ids:
            parts.append(association_id.in_(self.association_ids))
        if self.group_ids:
            # The 班's association too (implied): an index on (association, 班) then narrows.
            parts.append(
                and_(
                    association_id.in_(
                        select(Group.association_id).where(Group.id.in_(self.group_ids))
                    ),
                    group_id.in_(self.group_ids),
                )
            )
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

    def labelled_residents(self) -> ColumnElement[bool]:
        """On `Resident`: those whose household this scope may label (`may_label`)."""
        return true() if self.city else self.named_residents()

    def groups(self) -> ColumnElement[bool]:
        """On `Group`: the groups this scope covers wholly."""
        if self.city:
            return true()
        parts: list[ColumnElement[bool]] = []
        if self.district_ids or self.association_ids:
            whole = self.whole_areas().associations()
            parts.append(Group.association_id.in_(select(Association.id).where(whole)))
        if self.group_ids:
            parts.append(Group.id.in_(self.group_ids))
        return or_(*parts) if parts else false()

    def circulars(self) -> ColumnElement[bool]:
        """On `Circular`: circulars that reach into the scope, and the member's own. A 班長's
        group is reached by circulars to it, to its association or to its district — not by
        those to another 班 of the association."""
        if self.city:
            return true()
        visible = select(Association.id).where(self.whole_areas().associations())
        led = select(Group.association_id).where(Group.id.in_(self.group_ids))
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
                    CircularTarget.association_id.in_(led),
                    CircularTarget.group_id.in_(self.group_ids),
                ),
            )
        )
        # Interest groups and 「役員会」 of the areas it covers wholly: not a 班長's.
        interest = exists(
            select(CircularInterestTarget.id).where(
                CircularInterestTarget.circular_id == Circular.id,
                or_(
                    CircularInterestTarget.staff_association_id.in_(visible),
                    CircularInterestTarget.interest_group_id.in_(
                        select(InterestGroup.id).where(
                            or_(
                                InterestGroup.association_id.in_(visible),
                                InterestGroup.district_id.in_(self.district_ids),
                            )
                        )
                    ),
                ),
            )
        )
        return or_(Circular.author_id == self.staff_member_id, touches, interest)

    # --- checks on one row ----------------------------------------------------------------------

    def may_see(self, session: Session, circular_id: int) -> bool:
        """Whether the circular reaches into this scope, or is the member's own."""
        found = session.scalar(
            select(Circular.id).where(Circular.id == circular_id, self.circulars())
        )
        return found is not None

    def may_target(self, session: Session, target: Target) -> bool:
        """Whether every area of `target` lies in the areas this scope may send to (`whole_areas`:
        not a 班長's 班). Unknown ids count as outside; an empty target lies in any scope."""
        if self.city:
            return True
        if not target.district_ids <= self.district_ids:
            return False
        owners = dict(
            session.execute(
                select(Group.id, Group.association_id).where(Group.id.in_(target.group_ids))
            ).all()
        )
        if set(owners) != set(target.group_ids):
            return False
        interest = session.execute(
            select(
                InterestGroup.id,
                InterestGroup.association_id,
                InterestGroup.district_id,
                InterestGroup.posters,
                InterestGroup.created_by_id,
            ).where(InterestGroup.id.in_(target.interest_group_ids))
        ).all()
        if len(interest) != len(target.interest_group_ids):
            return False
        wanted = set(target.association_ids) | set(owners.values())
        wanted |= set(target.staff_association_ids)
        for _id, association_id, district_id, posters, creator in interest:
            if district_id is not None and district_id not in self.district_ids:
                return False
            if association_id is None:
                continue
            if posters is Posters.creator and creator != self.staff_member_id:
                # Not the creator's: only those above the association (its promoter) may.
                wanted_by_district = select(Association.id).where(
                    Association.id == association_id,
                    Association.district_id.in_(self.district_ids),
                )
                if session.scalar(wanted_by_district) is None:
                    return False
            wanted.add(association_id)
        if not wanted:
            return True
        covered = session.scalars(
            select(Association.id).where(
                Association.id.in_(wanted), self.whole_areas().associations()
            )
        )
        return wanted <= set(covered)

    def may_manage(self, session: Session, circular: Circular) -> bool:
        """Whether the circular may be changed, sent, scheduled, cancelled or corrected: its
        areas (a correction's are its original's) must lie in this scope as it is now.
        Authorship grants nothing by itself, since roles are taken away; only the member's own
        draft with no area picked yet (LINE compose starts one so) is theirs without one."""
        if not self.may_compose:
            return False
        if self.city:
            return True
        target = Target.areas_of(circular)
        if target.is_empty():
            return circular.author_id == self.staff_member_id
        return self.may_target(session, target)

    def sees_association(self, session: Session, association_id: int) -> bool:
        found = session.scalar(
            select(Association.id).where(Association.id == association_id, self.associations())
        )
        return found is not None

    def names_residents_of(self, association_id: int) -> bool:
        """Only an association's officers see its residents by name."""
        return association_id in self.association_ids

    def reads_inbox_of(self, association_id: int) -> bool:
        """What residents write to their association (「自治会へ」) is for its officers alone:
        not admins or promoters (a resident wrote to their association, not to the city or the
        district), nor a 班長 (a neighbour who reads only their 班's confirmations)."""
        return association_id in self.association_ids

    def may_label(self, association_id: int | None, group_id: int | None) -> bool:
        """Whether this scope may label the household of a resident registered here, and answer
        their request to change it: those who see them by name (`named_residents`), and
        admins, who answer any resident. Promoters, who never see residents by name, do not."""
        if association_id is None:
            return False
        return (
            self.city
            or association_id in self.association_ids
            or (group_id is not None and group_id in self.group_ids)
        )

    def leads_group(self, session: Session, group_id: int) -> bool:
        """The 班長 of this group, or an officer of its association: may see its paper
        households by name and confirm for them."""
        if group_id in self.group_ids:
            return True
        association_id = session.scalar(select(Group.association_id).where(Group.id == group_id))
        return association_id is not None and self.names_residents_of(association_id)

    def led_groups(self, session: Session, group_ids: Iterable[int]) -> set[int]:
        """Of `group_ids`, those the viewer leads (`leads_group`), in one query."""
        wanted = set(group_ids)
        led = wanted & self.group_ids
        if self.association_ids and wanted - led:
            led.update(
                session.scalars(
                    select(Group.id).where(
                        Group.id.in_(wanted - led), Group.association_id.in_(self.association_ids)
                    )
                )
            )
        return led


def load(session: Session, staff_member_id: int, now: datetime) -> Scope:
    """The scope from the roles the database holds now and still in force at `now`: a removed
    role stops working at once, and so does one whose term has ended."""
    roles = session.scalars(
        select(StaffRole).where(
            StaffRole.staff_member_id == staff_member_id,
            or_(StaffRole.ends_at.is_(None), StaffRole.ends_at > now),
        )
    )
    return Scope.of(staff_member_id, roles)
