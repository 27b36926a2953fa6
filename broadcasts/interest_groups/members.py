"""Residents joining an interest group by its code and leaving it.

Only a registered resident joins (a group's circulars are counted and reminded like any other,
by the resident's registration). Wrong codes count against the same daily tries as join codes
(broadcasts/residents/join_codes.py), so the two kinds of code cannot be guessed in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.residents.join_codes import FAILURE_WINDOW, MAX_FAILURES, user_hash
from broadcasts.residents.registration import find_resident
from models import InterestGroup, InterestMembership, JoinCodeFailure, Resident


@dataclass(frozen=True)
class Joined:
    name: str
    already: bool = False


@dataclass(frozen=True)
class NotRegistered:
    """Only a registered resident joins: they are asked to register first."""


@dataclass(frozen=True)
class WrongCode:
    locked: bool = False


def join(
    session: Session, clock: Clock, line_user_id: str, body: str
) -> Joined | NotRegistered | WrongCode:
    """The group whose code `body` is (the random part, as `CODE.typed` reads it). Flushes."""
    now = clock.now()
    sender = user_hash(line_user_id)
    failures = int(
        session.scalar(
            select(func.count())
            .select_from(JoinCodeFailure)
            .where(
                JoinCodeFailure.line_user_hash == sender,
                JoinCodeFailure.attempted_at > now - FAILURE_WINDOW,
            )
        )
        or 0
    )
    if failures >= MAX_FAILURES:
        return WrongCode(locked=True)
    group = session.scalars(select(InterestGroup).where(InterestGroup.join_code == body)).first()
    if group is None:
        session.add(JoinCodeFailure(line_user_hash=sender, attempted_at=now))
        session.flush()
        return WrongCode(locked=failures + 1 >= MAX_FAILURES)
    resident = find_resident(session, line_user_id)
    if resident is None or resident.association_id is None:
        return NotRegistered()
    # ON CONFLICT: the same code sent twice at once, handled by two workers, joins once.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = session.scalar(
        insert(InterestMembership)
        .values(interest_group_id=group.id, resident_id=resident.id, joined_at=now)
        .on_conflict_do_nothing(index_elements=["interest_group_id", "resident_id"])
        .returning(InterestMembership.id)
    )
    return Joined(group.name, already=added is None)


def membership(session: Session, group_id: int, resident_id: int) -> InterestMembership | None:
    return session.scalars(
        select(InterestMembership).where(
            InterestMembership.interest_group_id == group_id,
            InterestMembership.resident_id == resident_id,
        )
    ).first()


def groups_of(session: Session, resident: Resident) -> list[InterestGroup]:
    """The interest groups the resident is in, by name."""
    return list(
        session.scalars(
            select(InterestGroup)
            .join(InterestMembership, InterestMembership.interest_group_id == InterestGroup.id)
            .where(InterestMembership.resident_id == resident.id)
            .order_by(InterestGroup.name)
        )
    )


def leave(session: Session, resident: Resident, group_id: int) -> str | None:
    """Take the resident out of the group: its name, or None if they were not in it (a stale
    or forged tap). Flushes."""
    found = membership(session, group_id, resident.id)
    if found is None:
        return None
    name = found.interest_group.name
    session.delete(found)
    session.flush()
    return name
