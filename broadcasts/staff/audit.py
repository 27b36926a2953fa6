"""The audit log: who composed, sent, cancelled, exported or changed a role, and when.

Entries carry ids and counts only, never text or personal data (see models.AuditEntry); they are
shown with the names and codes people know, looked up when the log is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from models import (
    Association,
    AuditEntry,
    Circular,
    CircularTemplate,
    District,
    Group,
    PaperHousehold,
    StaffMember,
)

ACTIONS = (
    "circular.composed",
    "circular.scheduled",
    "circular.sent",
    "circular.cancelled",
    "circular.resumed",
    "export.circular",
    "export.reach",
    "role.invited",
    "role.removed",
    "role.granted",
    "role.ended",
    "role.handed_over",
    "staff.imported",
    "association.paper_households",
    "district.activated",
    "district.prepared",
    "join_code.rotated",
    "interest_group.created",
    "interest_group.changed",
    "template.saved",
    "template.shared",
    "export.adoption",
    "group.paper_households",
    "association.watch_over",
    "paper.proxy_confirmed",
    "paper.proxy_undone",
    # A disclosure or deletion request answered (docs/privacy.md): the resident's id only.
    "resident.exported",
    "resident.erased",
    # A household's label set or removed, a resident's request for one answered: the resident's
    # id only, never the label (it is personal data).
    "household.labelled",
    "household.label_removed",
    "household.label_approved",
    "household.label_declined",
    # The association's LINE group: a link code issued, the group linked, the bot asked to leave.
    "line_group.code",
    "line_group.linked",
    "line_group.left",
    "inbox.answered",
    "inbox.status_set",
)

Detail = int | str | bool | None


def record(
    session: Session,
    clock: Clock,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    **details: Detail,
) -> AuditEntry:
    """Add one entry to the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=dict(details),
    )
    session.add(entry)
    session.flush()
    return entry


# Details that point at a row, and the kind of row: shown by its name, not its id.
REFERENCES = {
    "district_id": "district",
    "association_id": "association",
    "group": "group",
    "group_id": "group",
    "circular": "circular",
    "corrects": "circular",
    "paper_household_id": "paper_household",
    "successor": "staff_member",
}


@dataclass(frozen=True)
class Shown:
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    subject_type: str
    # What the subject is called ("D01 中央校区", a circular's title); None when it is gone.
    subject_name: str | None
    # The details, references replaced by names; those that point at nothing are left out.
    details: dict[str, Detail]


def latest(session: Session, limit: int = 200, offset: int = 0) -> Sequence[Shown]:
    rows = session.execute(
        select(AuditEntry, StaffMember.display_name)
        .outerjoin(StaffMember, StaffMember.id == AuditEntry.actor_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry, _name in rows:
        if entry.subject_id is not None:
            wanted[entry.subject_type].add(entry.subject_id)
        for key, value in entry.details.items():
            if key in REFERENCES and isinstance(value, int):
                wanted[REFERENCES[key]].add(value)
    names = _names(session, wanted)
    shown = []
    for entry, actor_name in rows:
        details: dict[str, Detail] = {}
        for key, value in entry.details.items():
            if key in REFERENCES:
                value = names.get((REFERENCES[key], value)) if isinstance(value, int) else None
            if value is not None:
                details[key] = value
        subject_name = (
            names.get((entry.subject_type, entry.subject_id)) if entry.subject_id else None
        )
        shown.append(
            Shown(
                entry.at,
                entry.actor_id,
                actor_name,
                entry.action,
                entry.subject_type,
                subject_name,
                details,
            )
        )
    return shown


def _names(session: Session, wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """One query per kind of row on the page."""
    names: dict[tuple[str, int], str] = {}

    def add(kind: str, found: Iterable[tuple[int, str | None]]) -> None:
        names.update(((kind, row_id), name) for row_id, name in found if name)

    for kind, model in (("district", District), ("association", Association)):
        if wanted.get(kind):
            rows = session.execute(
                select(model.id, model.code, model.name).where(model.id.in_(wanted[kind]))
            )
            add(kind, ((row_id, f"{code} {name}") for row_id, code, name in rows))
    if wanted.get("group"):
        groups = session.execute(
            select(Group.id, Association.code, Association.name, Group.name)
            .join(Association, Association.id == Group.association_id)
            .where(Group.id.in_(wanted["group"]))
        )
        add("group", ((i, f"{code} {name} {group}") for i, code, name, group in groups))
    # A resident is shown by their id only: the log is read long after a name was erased.
    add("resident", ((i, f"#{i}") for i in wanted.get("resident", ())))
    if wanted.get("paper_household"):
        households = session.execute(
            select(PaperHousehold.id, Group.name, PaperHousehold.position)
            .join(Group, Group.id == PaperHousehold.group_id)
            .where(PaperHousehold.id.in_(wanted["paper_household"]))
        )
        # By its place in the 班, not its label: the label may be a family's name.
        add("paper_household", ((i, f"{group} {position}") for i, group, position in households))
    titles = {
        "circular": (Circular.id, Circular.title),
        "template": (CircularTemplate.id, CircularTemplate.title),
        "staff_member": (StaffMember.id, StaffMember.display_name),
    }
    for kind, (key, title) in titles.items():
        if wanted.get(kind):
            add(kind, session.execute(select(key, title).where(key.in_(wanted[kind]))))
    return names
