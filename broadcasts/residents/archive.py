"""The archive inside LINE: 「回覧を見る」 pages through the circulars a resident received, and
「検索」 finds them by a word in the title or body (of any version), newest first.

Only circulars whose card was delivered to this resident are ever listed: the archive is the
resident's own pile of paper circulars, not the city's. The word of the last search is kept in
`ArchiveSearch`, so 「次へ」 (a postback, short and ASCII) pages through its results; a row
without a word means the bot asked 「検索」 and takes the resident's next message as the word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from broadcasts.core.clock import Clock
from models import (
    CARD,
    Acknowledgement,
    ArchiveSearch,
    Circular,
    CircularTranslation,
    Delivery,
    DeliveryStatus,
    Resident,
)

# One carousel: LINE allows 12 bubbles; fewer keep it light on an old phone.
PAGE_SIZE = 8
WORD_LIMIT = 50
# After 「検索」 the next message is the word only for a while: a resident who comes back
# tomorrow with a district name is not searching.
WORD_WAIT = timedelta(minutes=10)
# 「検索」, 「けんさく」 or "search", alone or followed by the word.
_TYPED = re.compile(r"(?:検索|けんさく|search)(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Entry:
    circular: Circular
    confirmed: bool


@dataclass(frozen=True)
class Page:
    entries: tuple[Entry, ...]
    number: int
    has_next: bool
    # The search word; None for the plain list.
    word: str | None = None


@dataclass(frozen=True)
class AskWord:
    """The bot waits for the word to search for."""


def listing(session: Session, resident: Resident, number: int) -> Page:
    """Page `number` (from 0) of the circulars delivered to the resident, newest first."""
    return _page(session, resident, number, None)


def ask_word(session: Session, clock: Clock, resident: Resident) -> AskWord:
    _keep(session, clock, resident, None)
    return AskWord()


def take_prompt(session: Session, clock: Clock, resident: Resident) -> bool:
    """Use up a pending 「検索」: True when the bot was (still) waiting for the word.

    Called for every text message, commands included, so the prompt only ever applies to the
    very next message: a resident who typed something else meanwhile is not surprised later.
    """
    asked_at = session.scalar(
        delete(ArchiveSearch)
        .where(ArchiveSearch.resident_id == resident.id, ArchiveSearch.word.is_(None))
        .returning(ArchiveSearch.asked_at)
    )
    return asked_at is not None and asked_at > clock.now() - WORD_WAIT


def typed(
    session: Session, clock: Clock, resident: Resident, text: str, waiting: bool
) -> Page | AskWord | None:
    """A text message that is a search: 「検索」 (then ask), 「検索 ことば」, or any text when
    `waiting` (see take_prompt). None when the text is not a search."""
    flat = unicodedata.normalize("NFKC", text).strip()
    command = _TYPED.fullmatch(flat)
    if command is None and not waiting:
        return None
    word = clean_word(command[1] or "" if command is not None else flat)
    if not word:
        return ask_word(session, clock, resident)
    return search(session, clock, resident, word)


def clean_word(text: str) -> str:
    """Width-folded, spaces collapsed, at most WORD_LIMIT characters."""
    return " ".join(unicodedata.normalize("NFKC", text).split())[:WORD_LIMIT].rstrip()


def search(session: Session, clock: Clock, resident: Resident, word: str) -> Page:
    """The first page of the resident's circulars matching every term of `word`."""
    _keep(session, clock, resident, word)
    return _page(session, resident, 0, word)


def results(session: Session, resident: Resident, number: int) -> Page | None:
    """Page `number` of the resident's last search; None when there is none to page through."""
    word = session.scalar(
        select(ArchiveSearch.word).where(
            ArchiveSearch.resident_id == resident.id, ArchiveSearch.word.is_not(None)
        )
    )
    if word is None:
        return None
    return _page(session, resident, number, word)


def _page(session: Session, resident: Resident, number: int, word: str | None) -> Page:
    query = (
        select(Circular, Acknowledgement.id)
        .join(Delivery, Delivery.circular_id == Circular.id)
        .outerjoin(
            Acknowledgement,
            and_(
                Acknowledgement.circular_id == Circular.id,
                Acknowledgement.resident_id == resident.id,
            ),
        )
        .where(
            Delivery.resident_id == resident.id,
            Delivery.slot == CARD,
            Delivery.status == DeliveryStatus.sent,
        )
    )
    if word is not None:
        query = query.where(*(_mentions(term) for term in word.split()))
    rows = session.execute(
        query.order_by(Circular.released_at.desc().nulls_last(), Circular.id.desc())
        # Each card shows the reader's version (circulars.translations): loaded with the page.
        .options(selectinload(Circular.translations), selectinload(Circular.options))
        .offset(number * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    entries = tuple(Entry(circular, ack is not None) for circular, ack in rows[:PAGE_SIZE])
    return Page(entries, number, len(rows) > PAGE_SIZE, word)


def _mentions(term: str) -> ColumnElement[bool]:
    # autoescape: a resident's "%" or "_" is a character, not a wildcard. Every version counts:
    # a resident reading English finds by the English words their cards showed them.
    translated = exists().where(
        CircularTranslation.circular_id == Circular.id,
        or_(
            CircularTranslation.title.icontains(term, autoescape=True),
            CircularTranslation.body.icontains(term, autoescape=True),
        ),
    )
    return or_(
        Circular.title.icontains(term, autoescape=True),
        Circular.body.icontains(term, autoescape=True),
        translated,
    )


def _keep(session: Session, clock: Clock, resident: Resident, word: str | None) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    session.execute(
        insert(ArchiveSearch)
        .values(resident_id=resident.id, word=word, asked_at=now)
        .on_conflict_do_update(index_elements=["resident_id"], set_={"word": word, "asked_at": now})
    )
