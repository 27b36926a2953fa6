"""Answers that are not a choice: a headcount (人数) and a short free text, from LINE or the
detail page, and in LINE the one typed message the bot waits for after 「回答する」.

The rules are those of a choice (acknowledgements.answer): only a circular delivered to the
resident, only until its deadline, one answer per resident (the acknowledgement's unique
constraint), changed by answering again, and answering confirms. In LINE, 「回答する」 on the card
offers 0–9 as buttons and 「10人以上」 for a typed number, or asks for the text; the wait is kept in
`AnswerPrompt` and used up by the resident's next text, whatever it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.residents.acknowledgements import answer as answer_choice
from broadcasts.residents.acknowledgements import answers_open, delivered_circular, record_answer
from models import (
    ANSWER_TEXT_LIMIT,
    MAX_HEADCOUNT,
    AnswerPrompt,
    ArchiveSearch,
    Channel,
    Circular,
    QuestionKind,
    Resident,
)

# The typed answer is awaited for a while only: a resident who comes back tomorrow with a word
# for the archive is not answering. Longer than the archive's wait: answers take thought.
PROMPT_WAIT = timedelta(minutes=30)
# 「3」, 「3人」, 「３名」, 「12 人」: digits, then at most a counter word.
_COUNT = re.compile(r"([0-9]{1,3})\s*(?:人|名|にん|めい)?")

Status = Literal["recorded", "closed", "invalid", "unknown"]


@dataclass(frozen=True)
class Answered:
    status: Status
    kind: QuestionKind | None = None
    count: int | None = None
    # The question has a deadline: the reply says the answer may change until then.
    deadline: bool = False


@dataclass(frozen=True)
class Asked:
    """「回答する」 in LINE: what the bot asks for (None kind: not delivered to them, or the
    question takes a choice, whose buttons are on the card)."""

    status: Literal["ask", "closed", "unknown"]
    kind: QuestionKind | None = None


def _open_question(
    session: Session, resident: Resident, circular_id: int, kind: QuestionKind
) -> Circular | None:
    circular = delivered_circular(session, resident, circular_id)
    if circular is None or not circular.question or circular.question_kind is not kind:
        return None
    return circular


def clean_text(text: str) -> str | None:
    """The answer as kept: trimmed, at most ANSWER_TEXT_LIMIT characters; None when empty or
    longer (the resident is asked to shorten it, not cut off silently)."""
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not cleaned or len(cleaned) > ANSWER_TEXT_LIMIT:
        return None
    return cleaned


def read_count(text: str) -> int | None:
    """A typed headcount (full-width digits and 「人」 allowed), None when it is not 0..20."""
    match = _COUNT.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    count = int(match[1])
    return count if 0 <= count <= MAX_HEADCOUNT else None


def headcount(
    session: Session,
    clock: Clock,
    resident: Resident,
    circular_id: int,
    count: int,
    channel: Channel = Channel.line,
) -> Answered:
    """Record how many people (0–20) for a headcount question."""
    circular = _open_question(session, resident, circular_id, QuestionKind.headcount)
    if circular is None:
        return Answered("unknown")
    if not 0 <= count <= MAX_HEADCOUNT:
        return Answered("invalid", QuestionKind.headcount)
    if not answers_open(circular, clock.now()):
        return Answered("closed", QuestionKind.headcount)
    record_answer(session, clock, resident, circular, channel, answer_count=count)
    return Answered("recorded", QuestionKind.headcount, count, circular.answer_deadline is not None)


def free_text(
    session: Session,
    clock: Clock,
    resident: Resident,
    circular_id: int,
    text: str,
    channel: Channel = Channel.line,
) -> Answered:
    """Record a short free answer (at most ANSWER_TEXT_LIMIT characters) for a text question."""
    circular = _open_question(session, resident, circular_id, QuestionKind.text)
    if circular is None:
        return Answered("unknown")
    cleaned = clean_text(text)
    if cleaned is None:
        return Answered("invalid", QuestionKind.text)
    if not answers_open(circular, clock.now()):
        return Answered("closed", QuestionKind.text)
    record_answer(session, clock, resident, circular, channel, answer_text=cleaned)
    return Answered("recorded", QuestionKind.text, deadline=circular.answer_deadline is not None)


def posted(
    session: Session, clock: Clock, resident: Resident, circular_id: int, form: Mapping[str, str]
) -> Status:
    """The detail page's answer form: a number (`count`), a text (`text`) or a button
    (`option`, a position). "unknown" for a form that names none of them."""
    if "count" in form:
        count = read_count(form["count"])
        if count is None:
            return "invalid"
        return headcount(session, clock, resident, circular_id, count, Channel.web).status
    if "text" in form:
        return free_text(session, clock, resident, circular_id, form["text"], Channel.web).status
    position = form.get("option", "")
    if not (position.isascii() and position.isdigit()):
        return "unknown"
    chosen = answer_choice(session, clock, resident, circular_id, int(position), Channel.web)
    return chosen.status


# --- waiting for a typed answer in LINE ---------------------------------------------------------


def ask(session: Session, clock: Clock, resident: Resident, circular_id: int) -> Asked:
    """「回答する」 (or 「10人以上」): wait for the resident's next text as the answer. Replaces
    any earlier wait, and a pending 「検索」: the latest question asked is the one answered."""
    circular = delivered_circular(session, resident, circular_id)
    if circular is None or not circular.question or circular.question_kind is QuestionKind.choice:
        return Asked("unknown")
    if not answers_open(circular, clock.now()):
        return Asked("closed", circular.question_kind)
    session.execute(
        delete(ArchiveSearch).where(
            ArchiveSearch.resident_id == resident.id, ArchiveSearch.word.is_(None)
        )
    )
    now = clock.now()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(AnswerPrompt)
        .values(resident_id=resident.id, circular_id=circular.id, asked_at=now)
        .on_conflict_do_update(
            index_elements=["resident_id"], set_={"circular_id": circular.id, "asked_at": now}
        )
    )
    return Asked("ask", circular.question_kind)


def take_prompt(session: Session, clock: Clock, resident: Resident) -> int | None:
    """Use up a pending 「回答する」: the circular whose answer this text is, or None.

    Called for every text a resident sends, so the wait only ever applies to the very next
    message, as 「検索」's does."""
    found = session.execute(
        delete(AnswerPrompt)
        .where(AnswerPrompt.resident_id == resident.id)
        .returning(AnswerPrompt.circular_id, AnswerPrompt.asked_at)
    ).first()
    if found is None or found.asked_at <= clock.now() - PROMPT_WAIT:
        return None
    return int(found.circular_id)


def typed(
    session: Session, clock: Clock, resident: Resident, circular_id: int, text: str
) -> Answered:
    """The resident's text after 「回答する」: a headcount or a free answer, as the question asks.
    A headcount that is no number asks again (the wait starts over)."""
    kind = session.scalar(select(Circular.question_kind).where(Circular.id == circular_id))
    if kind is QuestionKind.headcount:
        count = read_count(text)
        if count is None:
            asked = ask(session, clock, resident, circular_id)
            return Answered("invalid" if asked.status == "ask" else asked.status, kind)
        return headcount(session, clock, resident, circular_id, count)
    if kind is QuestionKind.text:
        answered = free_text(session, clock, resident, circular_id, text)
        if answered.status == "invalid":
            ask(session, clock, resident, circular_id)
        return answered
    return Answered("unknown")
