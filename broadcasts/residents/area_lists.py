"""The lists a resident chooses their area from in LINE: districts, associations and groups,
paged to fit LINE's quick replies, or narrowed by part of a name the resident types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.text import typed_word
from models import Association, District, Group

# LINE shows at most 13 quick-reply items. A list that fits in 12 is shown whole with 「やめる」;
# a longer one is paged 10 at a time, leaving room for 「前へ」, 「次へ」 and 「やめる」.
SHORT_LIST = 12
PAGE_SIZE = 10

AreaKind = Literal["district", "association", "group"]


@dataclass(frozen=True)
class Option:
    id: int
    name: str


@dataclass(frozen=True)
class Choose:
    """Ask the resident to pick one area from `options` (one page of them)."""

    kind: AreaKind
    options: tuple[Option, ...]
    page: int
    page_count: int
    # The district (for associations) or association (for groups) being listed.
    parent_id: int | None = None
    # Set when the list is the result of a typed search.
    query: str | None = None
    # A search found more than fit: the resident is asked to type more of the name.
    truncated: bool = False
    # A search found nothing: `options` is the whole list's first page instead.
    not_found: bool = False
    greeting: bool = False


def district_page(session: Session, page: int) -> Choose:
    districts = session.scalars(select(District).order_by(District.kana, District.id)).all()
    shown, page, count = _page_of([Option(d.id, d.name) for d in districts], page)
    return Choose("district", shown, page, count)


def association_page(session: Session, district_id: int, page: int) -> Choose:
    options = [Option(a.id, a.name) for a in _associations(session, district_id)]
    shown, page, count = _page_of(options, page)
    return Choose("association", shown, page, count, parent_id=district_id)


def group_page(session: Session, association_id: int, page: int) -> Choose:
    options = [Option(g.id, g.name) for g in _groups(session, association_id)]
    shown, page, count = _page_of(options, page)
    return Choose("group", shown, page, count, parent_id=association_id)


def narrowed(session: Session, kind: AreaKind, parent_id: int | None, text: str) -> Choose:
    """The list of `kind` (under `parent_id`) narrowed to names containing `text`, in kanji or
    kana; its first page, marked `not_found`, when nothing matches."""
    query = typed_word(text)
    options: Sequence[Option]
    if kind == "group" and parent_id is not None:
        groups = _groups(session, parent_id)
        options = [Option(g.id, g.name) for g in groups if query in typed_word(g.name)]
    else:
        rows: Sequence[District | Association] = (
            _associations(session, parent_id)
            if kind == "association" and parent_id is not None
            else session.scalars(select(District).order_by(District.kana, District.id)).all()
        )
        options = [Option(row.id, row.name) for row in rows if _matches(query, row.name, row.kana)]
    if not options:
        first = _first_page(session, kind, parent_id)
        return Choose(
            kind,
            first.options,
            0,
            first.page_count,
            parent_id=parent_id,
            query=text.strip()[:40],
            not_found=True,
        )
    # Search results are not paged (the query would have to travel in every postback): the
    # first page is shown and the resident is asked to type more when there are too many.
    return Choose(
        kind,
        tuple(options[:SHORT_LIST]),
        0,
        1,
        parent_id=parent_id,
        query=text.strip()[:40],
        truncated=len(options) > SHORT_LIST,
    )


def _matches(query: str, name: str, kana: str) -> bool:
    return query in typed_word(name) or query in typed_word(kana)


def _page_of(options: Sequence[Option], page: int) -> tuple[tuple[Option, ...], int, int]:
    if len(options) <= SHORT_LIST:
        return tuple(options), 0, 1
    page_count = -(-len(options) // PAGE_SIZE)
    page = min(max(page, 0), page_count - 1)
    return tuple(options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]), page, page_count


def _associations(session: Session, district_id: int) -> Sequence[Association]:
    return session.scalars(
        select(Association)
        .where(Association.district_id == district_id)
        .order_by(Association.kana, Association.id)
    ).all()


def _groups(session: Session, association_id: int) -> Sequence[Group]:
    return session.scalars(
        select(Group)
        .where(Group.association_id == association_id)
        .order_by(Group.position, Group.id)
    ).all()


def _first_page(session: Session, kind: AreaKind, parent_id: int | None) -> Choose:
    if kind == "association" and parent_id is not None:
        return association_page(session, parent_id, 0)
    if kind == "group" and parent_id is not None:
        return group_page(session, parent_id, 0)
    return district_page(session, 0)
