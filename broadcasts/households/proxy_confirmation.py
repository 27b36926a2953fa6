"""The 班長's proxy confirmation (代理確認): a paper household has seen a circular, marked for
it by the 班長 of its 班 (or an officer of the association), and taken back by either; and the
circulars a 班長 is shown to confirm for.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.households.paper import PaperError, reaches
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import Association, Circular, CircularTarget, Group, PaperHousehold, ProxyConfirmation


@dataclass(frozen=True)
class PaperStatus:
    paper_household: PaperHousehold
    confirmation: ProxyConfirmation | None

    @property
    def name(self) -> str:
        return self.paper_household.label or f"紙の世帯 {self.paper_household.position}"


def statuses(session: Session, circular_id: int, group_id: int) -> list[PaperStatus]:
    """The 班's paper households, each with its proxy confirmation for the circular, if any."""
    rows = session.execute(
        select(PaperHousehold, ProxyConfirmation)
        .outerjoin(
            ProxyConfirmation,
            and_(
                ProxyConfirmation.paper_household_id == PaperHousehold.id,
                ProxyConfirmation.circular_id == circular_id,
            ),
        )
        .where(PaperHousehold.group_id == group_id, PaperHousehold.removed_at.is_(None))
        .order_by(PaperHousehold.position, PaperHousehold.id)
    )
    return [PaperStatus(paper_household, confirmation) for paper_household, confirmation in rows]


def _checked(
    session: Session, scope: Scope, circular_id: int, paper_household_id: int
) -> PaperHousehold:
    """The paper household, if the viewer leads its 班 and the circular reaches it."""
    found = session.get(PaperHousehold, paper_household_id)
    circular = session.get(Circular, circular_id)
    if (
        found is None
        or found.removed_at is not None
        or circular is None
        or circular.released_at is None
        or not scope.leads_group(session, found.group_id)
        or not reaches(session, circular, found.group_id)
    ):
        raise PaperError(StaffText("この世帯の代理確認はできません"))
    return found


def proxy_confirm(
    session: Session, clock: Clock, scope: Scope, circular_id: int, paper_household_id: int
) -> bool:
    """Mark that the paper household has seen the circular. False: it was already marked."""
    paper_household = _checked(session, scope, circular_id, paper_household_id)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(
        insert(ProxyConfirmation)
        .values(
            circular_id=circular_id,
            paper_household_id=paper_household.id,
            confirmed_by_id=scope.staff_member_id,
            confirmed_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["circular_id", "paper_household_id"])
        .returning(ProxyConfirmation.id)
    ).first()
    if inserted is None:
        return False
    audit.record(
        session,
        clock,
        scope.staff_member_id,
        "paper.proxy_confirmed",
        "circular",
        circular_id,
        paper_household_id=paper_household.id,
        group_id=paper_household.group_id,
    )
    return True


def undo(
    session: Session, clock: Clock, scope: Scope, circular_id: int, paper_household_id: int
) -> None:
    """Take a proxy confirmation back: the 班長 who made it, or an officer of the association."""
    paper_household = _checked(session, scope, circular_id, paper_household_id)
    confirmation = session.scalars(
        select(ProxyConfirmation).where(
            ProxyConfirmation.circular_id == circular_id,
            ProxyConfirmation.paper_household_id == paper_household.id,
        )
    ).first()
    if confirmation is None:
        raise PaperError(StaffText("この世帯はまだ代理確認されていません"))
    officer = scope.names_residents_of(paper_household.group.association_id)
    if confirmation.confirmed_by_id != scope.staff_member_id and not officer:
        raise PaperError(StaffText("取り消せるのは、確認した班長か自治会の役員です"))
    session.delete(confirmation)
    audit.record(
        session,
        clock,
        scope.staff_member_id,
        "paper.proxy_undone",
        "circular",
        circular_id,
        paper_household_id=paper_household.id,
        group_id=paper_household.group_id,
    )
    session.flush()


def led_groups(session: Session, scope: Scope) -> list[tuple[Group, Association]]:
    """The groups whose paper households the viewer keeps (班長) or oversees (officer)."""
    return [
        (group, association)
        for group, association in session.execute(
            select(Group, Association)
            .join(Association, Association.id == Group.association_id)
            .where(
                or_(
                    Group.id.in_(scope.group_ids),
                    Group.association_id.in_(scope.association_ids),
                )
            )
            .order_by(Association.kana, Association.id, Group.position, Group.id)
        )
    ]


def recent_for_group(session: Session, group_id: int, limit: int = 10) -> list[Circular]:
    """Released circulars that reach the 班, newest first (for the 班長's LINE flow)."""
    group = session.get_one(Group, group_id)
    association = group.association
    reaching = select(CircularTarget.circular_id).where(
        or_(
            CircularTarget.group_id == group.id,
            CircularTarget.association_id == association.id,
            CircularTarget.district_id == association.district_id,
        )
    )
    # A correction carries its original's targets, so it is found the same way.
    return list(
        session.scalars(
            select(Circular)
            .where(Circular.released_at.is_not(None), Circular.id.in_(reaching))
            .order_by(Circular.released_at.desc(), Circular.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ProxyRound:
    """A released circular that reaches a 班, and how many of its paper households have been
    confirmed for it so far."""

    circular: Circular
    confirmed: int


def proxy_rounds(session: Session, group_id: int, limit: int = 3) -> list[ProxyRound]:
    """The 班's newest circulars with their proxy confirmations: the groups page links each to
    its proxy page, so that a 班長 on a phone gets there in one tap from the menu."""
    circulars = recent_for_group(session, group_id, limit)
    confirmed = {
        circular_id: int(count)
        for circular_id, count in session.execute(
            select(ProxyConfirmation.circular_id, func.count())
            .join(PaperHousehold, PaperHousehold.id == ProxyConfirmation.paper_household_id)
            .where(
                ProxyConfirmation.circular_id.in_([c.id for c in circulars]),
                PaperHousehold.group_id == group_id,
                PaperHousehold.removed_at.is_(None),
            )
            .group_by(ProxyConfirmation.circular_id)
        )
    }
    return [ProxyRound(c, confirmed.get(c.id, 0)) for c in circulars]
