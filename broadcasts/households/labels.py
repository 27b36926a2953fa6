"""House labels (表示名): the name staff know a household by, 「3班 山田（12-3）」, set by an
officer of the association, the 班長 of the 班, or an admin (`Scope.may_label`); a resident
asks for another with 「表示名の変更」, and one of them approves or declines it.

`staff_name()` is the one rule for the name staff see for a resident: their household's label,
else their LINE nickname; NULL when neither, which pages show as （名前なし）. Every
staff-facing list of residents selects it.

The label belongs to the household: family members share it, and a resident alone gets a
household row when theirs is first labelled (families.household_key counts it as before). It is
personal data (docs/privacy.md): audit entries carry ids only, and erasing a resident clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, ScalarSelect, Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.core.text import typed_name
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import Group, Household, HouseholdMember, LabelRequest, Resident

LABEL_LIMIT = 40
# After 「表示名の変更」 the next message is the new label only for a while, as for 「検索」.
PROMPT_WAIT = timedelta(minutes=10)


class LabelRefused(Refused):
    """The label was not set; `message` says why."""


class NotYours(Exception):
    """The resident is outside the staff member's scope (the dashboard answers 404)."""


def staff_name() -> ColumnElement[str | None]:
    """On a query with `Resident` in its FROM: the name staff see for the resident — their
    household's label, else their LINE nickname, else NULL (shown as （名前なし））."""
    return func.coalesce(household_label(), Resident.display_name)


def household_label() -> ScalarSelect[str | None]:
    """On a query with `Resident` in its FROM: their household's label, if any."""
    return (
        select(Household.label)
        .join(HouseholdMember, HouseholdMember.household_id == Household.id)
        .where(HouseholdMember.resident_id == Resident.id)
        .correlate(Resident)
        .scalar_subquery()
    )


def clean(text: str) -> str | None:
    """The label as stored (core.text.typed_name); None for an empty one. Refused when too long."""
    label = typed_name(text)
    if len(label) > LABEL_LIMIT:
        raise LabelRefused(StaffText("表示名は%(limit)s文字までにしてください", limit=LABEL_LIMIT))
    return label or None


def label_of(session: Session, resident_id: int) -> str | None:
    return session.scalar(
        select(Household.label)
        .join(HouseholdMember, HouseholdMember.household_id == Household.id)
        .where(HouseholdMember.resident_id == resident_id)
    )


def _household(session: Session, now: datetime, resident: Resident) -> Household:
    """The resident's household, made for a resident alone. Two staff members labelling them
    at once make one: the membership's primary key refuses the second, which then takes the
    first's."""
    found = (
        select(Household).join(HouseholdMember).where(HouseholdMember.resident_id == resident.id)
    )
    household = session.scalar(found)
    if household is not None:
        return household
    try:
        with session.begin_nested():
            household = Household(created_at=now)
            session.add(household)
            session.flush()
            session.add(HouseholdMember(resident_id=resident.id, household_id=household.id))
            session.flush()
    except IntegrityError:
        return session.scalars(found).one()
    return household


def _checked(scope: Scope, resident: Resident) -> None:
    registered = resident.anonymised_at is None and resident.unregistered_at is None
    if not registered or not scope.may_label(resident.association_id, resident.group_id):
        raise NotYours


# --- staff --------------------------------------------------------------------------------------


def set_label(
    session: Session, clock: Clock, scope: Scope, resident: Resident, text: str
) -> str | None:
    """Label the resident's household (an empty text removes the label); the label stored."""
    _checked(scope, resident)
    label = clean(text)
    _apply(session, clock, scope, resident, label)
    action = "household.labelled" if label is not None else "household.label_removed"
    audit.record(session, clock, scope.staff_member_id, action, "resident", resident.id)
    return label


def _apply(
    session: Session, clock: Clock, scope: Scope, resident: Resident, label: str | None
) -> None:
    now = clock.now()
    household = _household(session, now, resident)
    household.label = label
    household.label_set_by_id = scope.staff_member_id
    household.label_set_at = now
    session.flush()


def decide(
    session: Session, clock: Clock, scope: Scope, resident: Resident, seen: str, approve: bool
) -> bool:
    """Approve (the label becomes the one asked for) or decline a resident's request for the
    label `seen` (what the staff member read). False: it was answered meanwhile, or the
    resident asked for another since. Of two answering at once, one answers."""
    _checked(scope, resident)
    label = session.scalar(
        delete(LabelRequest)
        .where(LabelRequest.resident_id == resident.id, LabelRequest.label == seen)
        .returning(LabelRequest.label)
    )
    if label is None:
        return False
    if approve:
        _apply(session, clock, scope, resident, label)
    action = "household.label_approved" if approve else "household.label_declined"
    audit.record(session, clock, scope.staff_member_id, action, "resident", resident.id)
    session.flush()
    return True


# --- the dashboard's list -----------------------------------------------------------------------

PAGE_SIZE = 50
# Requests shown at once; more wait for the next page load once these are answered.
REQUESTS_SHOWN = 100


@dataclass(frozen=True)
class Row:
    resident_id: int
    # The name staff see (`staff_name`), and what it is made of.
    name: str | None
    label: str | None
    nickname: str | None
    group_name: str | None
    # The label the resident asked for, waiting for an answer.
    requested: str | None


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    requests: list[Row]
    page: int
    pages: int
    total: int


def listing(
    session: Session, association_id: int, group_id: int | None, query: str, page: int
) -> Listing:
    """The registered residents of the association (or of one 班), `PAGE_SIZE` a page, by 班
    and name; `query` finds them by label or nickname. The caller checks the viewer's scope."""
    label = household_label()
    where = [
        Resident.association_id == association_id,
        Resident.unregistered_at.is_(None),
        Resident.anonymised_at.is_(None),
    ]
    if group_id is not None:
        where.append(Resident.group_id == group_id)
    requests = _rows(
        session,
        select(Resident.id)
        .join(LabelRequest, LabelRequest.resident_id == Resident.id)
        .where(*where, LabelRequest.label.is_not(None))
        .order_by(LabelRequest.requested_at, Resident.id)
        .limit(REQUESTS_SHOWN),
    )
    wanted = typed_name(query)[:LABEL_LIMIT]
    if wanted:
        where.append(
            label.icontains(wanted, autoescape=True)
            | Resident.display_name.icontains(wanted, autoescape=True)
        )
    total = session.scalar(select(func.count()).select_from(Resident).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    ids = (
        select(Resident.id)
        .outerjoin(Group, Group.id == Resident.group_id)
        .where(*where)
        .order_by(func.coalesce(Group.position, 0), staff_name(), Resident.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Listing(_rows(session, ids), requests, page, pages, total)


def _rows(session: Session, ids: Select[int]) -> list[Row]:
    """The rows of the residents `ids` selects, in its order."""
    ordered = list(session.scalars(ids))
    found = session.execute(
        select(
            Resident.id,
            staff_name(),
            household_label(),
            Resident.display_name,
            Group.name,
            LabelRequest.label,
        )
        .outerjoin(Group, Group.id == Resident.group_id)
        .outerjoin(LabelRequest, LabelRequest.resident_id == Resident.id)
        .where(Resident.id.in_(ordered))
    )
    rows = {row[0]: Row(*row) for row in found}
    return [rows[resident_id] for resident_id in ordered]


# --- the resident -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Own:
    """What a resident sees of their label in 「わたしの情報」."""

    label: str | None
    requested: str | None


def own(session: Session, resident: Resident) -> Own:
    request = session.get(LabelRequest, resident.id)
    return Own(label_of(session, resident.id), request.label if request else None)


def prompt(session: Session, clock: Clock, resident: Resident) -> None:
    """「表示名の変更」 alone: the bot waits for the new label (`take_prompt`)."""
    request = session.get(LabelRequest, resident.id)
    if request is None:
        request = LabelRequest(resident_id=resident.id)
        session.add(request)
    request.prompted_at = clock.now()
    session.flush()


def take_prompt(session: Session, clock: Clock, resident: Resident) -> bool:
    """Use up a pending 「表示名の変更」: True when the bot was (still) waiting for the label.
    Called for every text, so the prompt only ever applies to the very next message."""
    request = session.get(LabelRequest, resident.id)
    if request is None or request.prompted_at is None:
        return False
    waiting = request.prompted_at > clock.now() - PROMPT_WAIT
    if request.label is None:
        session.delete(request)
    else:
        request.prompted_at = None
    session.flush()
    return waiting


Asked = Literal["sent", "empty", "too_long", "not_registered"]


def ask(session: Session, clock: Clock, resident: Resident, text: str) -> Asked:
    """The resident asks for `text` as their label: kept for their officers and 班長 (a
    second request replaces the first)."""
    if resident.association_id is None or resident.unregistered_at is not None:
        return "not_registered"
    try:
        label = clean(text)
    except LabelRefused:
        return "too_long"
    if label is None:
        return "empty"
    request = session.get(LabelRequest, resident.id)
    if request is None:
        request = LabelRequest(resident_id=resident.id)
        session.add(request)
    request.label = label
    request.requested_at = clock.now()
    request.prompted_at = None
    session.flush()
    return "sent"


def forget(session: Session, resident_id: int) -> None:
    """Erasing a resident (residents.privacy.anonymise): their request goes, and their
    household's label, which may carry their name; the family then shows by nicknames."""
    session.execute(delete(LabelRequest).where(LabelRequest.resident_id == resident_id))
    household_id = session.scalar(
        select(HouseholdMember.household_id).where(HouseholdMember.resident_id == resident_id)
    )
    if household_id is not None:
        household = session.get_one(Household, household_id)
        household.label = None
        household.label_set_by_id = None
        household.label_set_at = None
    session.flush()
