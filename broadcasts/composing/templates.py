"""Circular templates (ひな形): how good practice travels between districts.

The city ships a starter set as data (`data/starter_templates.json`, loaded idempotently by
`kairan templates load` and the demo). A promoter saves a circular as a template for their
district; an admin shares a template city-wide. A district's template is seen only by the staff
of that district (its promoters and the officers of its associations) and by admins.

A template holds what the compose form holds — its やさしい日本語 version and translations too;
dates are kept as days from the day of use, so a template made in spring still proposes a
deadline a week ahead in autumn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from broadcasts.circulars import translations
from broadcasts.circulars.translations import Version
from broadcasts.composing.drafts import CircularDraft, CompositionError, NotPermitted, clean_title
from broadcasts.core.clock import TOKYO, Clock, tokyo_today
from broadcasts.core.i18n import StaffText
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import Association, Circular, CircularTemplate, QuestionKind, Role, StaffMember

STARTER_SET = Path(__file__).parent / "data" / "starter_templates.json"
# A deadline proposed by a template falls at this Tokyo hour of its day.
DEADLINE_HOUR = time(18, 0)


def load_starter_set(session: Session, path: Path = STARTER_SET) -> int:
    """Add the starter templates not there yet (by key); the number added. Flushes."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    known = set(
        session.scalars(select(CircularTemplate.key).where(CircularTemplate.key.is_not(None)))
    )
    added = 0
    for entry in entries:
        if entry["key"] in known:
            continue
        session.add(
            CircularTemplate(
                key=entry["key"],
                district_id=None,
                title=entry["title"],
                body=entry["body"],
                question=entry["question"],
                question_kind=QuestionKind(entry.get("question_kind", "choice")),
                options=list(entry["options"]),
                deadline_days=entry["deadline_days"],
                event_days=entry["event_days"],
                confirmation_required=entry["confirmation_required"],
                urgent=entry["urgent"],
            )
        )
        added += 1
    session.flush()
    return added


# --- who sees what ------------------------------------------------------------------------------


def _roles(member: StaffMember | None) -> list[tuple[Role, int | None, int | None]]:
    if member is None:
        return []
    return [(r.role, r.district_id, r.association_id) for r in member.roles]


def _districts_of(session: Session, member: StaffMember | None) -> set[int]:
    """The districts whose templates `member` sees: a promoter's, and an officer's
    associations' districts."""
    roles = _roles(member)
    districts = {d for role, d, _a in roles if role is Role.promoter and d is not None}
    associations = [a for role, _d, a in roles if role is Role.officer and a is not None]
    if associations:
        districts.update(
            session.scalars(select(Association.district_id).where(Association.id.in_(associations)))
        )
    return districts


def _is_admin(member: StaffMember | None) -> bool:
    return any(role is Role.admin for role, _d, _a in _roles(member))


def _visible(session: Session, member: StaffMember | None) -> ColumnElement[bool]:
    if _is_admin(member):
        return true()
    return or_(
        CircularTemplate.district_id.is_(None),
        CircularTemplate.district_id.in_(_districts_of(session, member)),
    )


def available(session: Session, member: StaffMember | None) -> Sequence[CircularTemplate]:
    """The templates `member` may start from: city-wide first, then their districts'."""
    if member is None or not member.roles:
        return []
    return session.scalars(
        select(CircularTemplate)
        .where(_visible(session, member))
        .order_by(CircularTemplate.district_id.is_not(None), CircularTemplate.id)
    ).all()


def find(session: Session, member: StaffMember | None, template_id: int) -> CircularTemplate | None:
    """The template if `member` may see it: another district's is None, like a missing one."""
    if member is None or not member.roles:
        return None
    return session.scalars(
        select(CircularTemplate).where(
            CircularTemplate.id == template_id, _visible(session, member)
        )
    ).first()


# --- using and saving ---------------------------------------------------------------------------


def draft_from(template: CircularTemplate, clock: Clock) -> CircularDraft:
    """A draft with every field of the template, its day offsets counted from today (Tokyo).

    The author still chooses the areas: a template never carries targets."""
    today = tokyo_today(clock)
    deadline = (
        datetime.combine(
            today + timedelta(days=max(template.deadline_days, 1)), DEADLINE_HOUR, TOKYO
        )
        if template.deadline_days is not None and template.question
        else None
    )
    event = (
        today + timedelta(days=max(template.event_days, 0))
        if template.event_days is not None
        else None
    )
    return CircularDraft(
        title=template.title,
        body=template.body,
        question=template.question,
        question_kind=template.question_kind,
        options=list(template.options),
        answer_deadline=deadline,
        event_date=event,
        confirmation_required=template.confirmation_required,
        urgent=template.urgent,
        one_per_household=template.one_per_household,
        translations=tuple(
            Version(
                language=kept["language"],
                title=kept["title"],
                body=kept["body"],
                answers=tuple(kept.get("answers") or ()),
                question=kept.get("question") or "",
            )
            for kept in template.translations
        ),
    )


def save_from_circular(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    circular: Circular,
    district_id: int | None,
) -> CircularTemplate:
    """Keep `circular` as a template: for `district_id` (a promoter's own district, or any for
    an admin) or city-wide (None, admins only). Flushes."""
    if not Scope.of_member(author).may_manage(session, circular):
        raise NotPermitted()
    assert author is not None  # noqa: S101 - may_manage refused None
    if district_id is None and not _is_admin(author):
        raise CompositionError("district", StaffText("市全体のひな形にできるのは管理者だけです"))
    promoter_of = {d for role, d, _a in _roles(author) if role is Role.promoter}
    if district_id is not None and not (_is_admin(author) or district_id in promoter_of):
        raise CompositionError("district", StaffText("ひな形にできるのは担当の校区だけです"))
    base_day = circular.created_at.astimezone(TOKYO).date()
    deadline = circular.answer_deadline
    template = CircularTemplate(
        district_id=district_id,
        title=clean_title(circular.title),
        body=circular.body,
        question=circular.question,
        question_kind=circular.question_kind,
        options=[option.label for option in circular.options],
        deadline_days=(
            max((deadline.astimezone(TOKYO).date() - base_day).days, 1) if deadline else None
        ),
        event_days=(max((circular.event_date - base_day).days, 0) if circular.event_date else None),
        confirmation_required=circular.confirmation_required,
        urgent=circular.urgent,
        one_per_household=circular.one_per_household,
        translations=[
            {**asdict(version), "answers": list(version.answers)}
            for version in translations.of_circular(circular)
        ],
        created_by_id=author.id,
        created_at=clock.now(),
    )
    session.add(template)
    session.flush()
    audit.record(
        session, clock, author.id, "template.saved", "template", template.id, circular=circular.id
    )
    return template


def share(
    session: Session, clock: Clock, admin: StaffMember | None, template: CircularTemplate
) -> CircularTemplate:
    """Make a district's template city-wide (admins only). Flushes."""
    if not _is_admin(admin):
        raise NotPermitted()
    assert admin is not None  # noqa: S101 - checked above
    template.district_id = None
    session.flush()
    audit.record(session, clock, admin.id, "template.shared", "template", template.id)
    return template
