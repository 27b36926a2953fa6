"""Who answered what (回答者一覧): each respondent's answer to a circular's question — the option,
the headcount or the short text — with their name, association and 班, and the headcounts
summed per 班.

Scoped exactly as every statistic of the circular: by the area the card was sent to, inside the
viewer's `Scope` (admins the city, promoters their districts, officers their associations, a 班長
their 班). A free text is the one exception: only the officers of the resident's association
read it (issue #20: 「shown only to the officers of the resident's association」). Admins,
promoters and 班長 see that an answer was given, not its words; the words are left out in the
database query, so they never reach the page or the CSV of anyone else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, null, select
from sqlalchemy.orm import Session

from broadcasts.households.labels import staff_name
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    Acknowledgement,
    AnswerOption,
    Association,
    Circular,
    Delivery,
    Group,
    QuestionKind,
    Resident,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class Respondent:
    name: str | None
    association_name: str | None
    group_name: str | None
    option: str | None  # a choice's label
    count: int | None  # a headcount
    text: str | None  # a free answer, when the viewer may read it
    text_hidden: bool  # a free answer the viewer may not read
    answered_at: datetime | None  # None where a row was written without it


@dataclass(frozen=True)
class GroupHeadcount:
    association_name: str | None
    group_name: str | None
    people: int
    respondents: int


@dataclass(frozen=True)
class Respondents:
    kind: QuestionKind
    rows: list[Respondent]
    total: int  # respondents in scope, all pages
    page: int
    pages: int
    # Headcount questions only: the people per 班 and in all.
    headcounts: list[GroupHeadcount]
    people: int


def _text_for(scope: Scope) -> ColumnElement[Any]:
    """The free answer where the viewer is an officer of the card's association, else NULL."""
    if not scope.association_ids:
        return null()
    return case(
        (Delivery.association_id.in_(scope.association_ids), Acknowledgement.answer_text),
        else_=null(),
    )


def _answered(scope: Scope, circular_id: int, *columns: Any) -> Select[Any]:
    """`columns` over the circular's answered acknowledgements in scope, each with its card."""
    return (
        select(*columns)
        .select_from(Acknowledgement)
        .join(
            Delivery,
            and_(
                Delivery.circular_id == Acknowledgement.circular_id,
                Delivery.resident_id == Acknowledgement.resident_id,
                Delivery.slot == CARD,
            ),
        )
        .where(
            Acknowledgement.circular_id == circular_id,
            Acknowledgement.answered(),
            scope.deliveries(),
        )
    )


def _rows(scope: Scope, circular_id: int) -> Select[Any]:
    return (
        _answered(
            scope,
            circular_id,
            staff_name(),
            Association.name,
            Group.name,
            AnswerOption.label,
            Acknowledgement.answer_count,
            _text_for(scope).label("text"),
            (Acknowledgement.answer_text.is_not(None)).label("has_text"),
            Acknowledgement.answered_at,
        )
        .join(Resident, Resident.id == Acknowledgement.resident_id)
        .outerjoin(Association, Association.id == Delivery.association_id)
        .outerjoin(Group, Group.id == Delivery.group_id)
        .outerjoin(AnswerOption, AnswerOption.id == Acknowledgement.answer_option_id)
        .order_by(
            Association.name,
            func.coalesce(Group.position, literal(0)),
            Group.name,
            staff_name(),
            Resident.id,
        )
    )


def _respondent(row: Any) -> Respondent:
    name, association, group, option, count, text, has_text, answered_at = row
    return Respondent(
        name, association, group, option, count, text, bool(has_text) and text is None, answered_at
    )


def listing(
    session: Session, circular: Circular, scope: Scope, page: int = 1, size: int = PAGE_SIZE
) -> Respondents:
    """Page `page` (from 1) of who answered `circular` (which the caller checked `scope` sees),
    with the headcounts per 班 for a headcount question."""
    total = session.scalar(_answered(scope, circular.id, func.count())) or 0
    pages = max((total + size - 1) // size, 1)
    page = min(max(page, 1), pages)
    found = session.execute(_rows(scope, circular.id).limit(size).offset((page - 1) * size))
    headcounts = (
        per_group(session, circular.id, scope)
        if circular.question_kind is QuestionKind.headcount
        else []
    )
    return Respondents(
        kind=circular.question_kind,
        rows=[_respondent(row) for row in found],
        total=int(total),
        page=page,
        pages=pages,
        headcounts=headcounts,
        people=sum(row.people for row in headcounts),
    )


def every(session: Session, circular_id: int, scope: Scope) -> Iterator[Respondent]:
    """Every respondent in scope, in the listing's order (for the CSV)."""
    for row in session.execute(_rows(scope, circular_id)):
        yield _respondent(row)


def per_group(session: Session, circular_id: int, scope: Scope) -> list[GroupHeadcount]:
    """People answered per 班 (per association where there is no 班), in scope."""
    rows = session.execute(
        _answered(
            scope,
            circular_id,
            Association.name,
            Group.name,
            func.coalesce(func.sum(Acknowledgement.answer_count), 0),
            func.count(),
        )
        .outerjoin(Association, Association.id == Delivery.association_id)
        .outerjoin(Group, Group.id == Delivery.group_id)
        .group_by(Delivery.association_id, Association.name, Delivery.group_id, Group.name)
        .order_by(Association.name, func.min(func.coalesce(Group.position, literal(0))), Group.name)
    )
    return [
        GroupHeadcount(association, group, int(people), int(count))
        for association, group, people, count in rows
    ]


def people(session: Session, circular_id: int, scope: Scope) -> int:
    """The headcount answered in all, in scope (the stats page's tile)."""
    found = session.scalar(
        _answered(scope, circular_id, func.coalesce(func.sum(Acknowledgement.answer_count), 0))
    )
    return int(found or 0)
