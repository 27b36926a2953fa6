"""What residents do with a circular from LINE: confirm it, answer its question, read it whole.

A resident may touch only a circular Kairan delivered to them: a postback naming any other
circular is forged or mistaken, and changes nothing. "Once" is the database's job: one
Acknowledgement per circular × resident, by its unique constraint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.circulars import translations
from broadcasts.core.clock import Clock
from broadcasts.delivery.messages import paragraph_lines
from broadcasts.households import families
from broadcasts.residents import reading
from models import (
    Acknowledgement,
    AnswerOption,
    Channel,
    Circular,
    Delivery,
    QuestionKind,
    Resident,
)

# LINE's limit for a text message, in UTF-16 code units.
TEXT_LIMIT = 5000
ELLIPSIS = "…"

ConfirmResult = Literal["confirmed", "already", "unknown"]


@dataclass(frozen=True)
class AnswerResult:
    status: Literal["recorded", "closed", "unknown"]
    label: str | None = None
    # The answer was to a safety check (安否確認): the reply says what to do in an emergency.
    safety_check: bool = False
    # The question has a deadline: the reply says the answer may change until then.
    deadline: bool = False


# Built once, as the statements below: a tap from LINE asks it (SQLAlchemy then reuses the
# statement's cache key and compiled form rather than build and hash it for each event).
DELIVERED_CIRCULAR = (
    select(Circular)
    .join(Delivery, Delivery.circular_id == Circular.id)
    .where(Circular.id == bindparam("circular_id"), Delivery.resident_id == bindparam("resident"))
)


def delivered_circular(session: Session, resident: Resident, circular_id: int) -> Circular | None:
    """The circular, if it was delivered to this resident; else None (forged or mistaken id)."""
    parameters = {"circular_id": circular_id, "resident": resident.id}
    return session.scalars(DELIVERED_CIRCULAR, parameters).first()


def _confirm_statement(insert: Any) -> Any:
    return (
        # On the table, not the mapped class: the ORM's bulk-insert path costs more than the
        # INSERT.
        insert(cast(Table, Acknowledgement.__table__))
        .values(
            circular_id=bindparam("circular_id"),
            resident_id=bindparam("resident"),
            confirmed_at=bindparam("at"),
            channel=bindparam("channel"),
        )
        .on_conflict_do_nothing(index_elements=["circular_id", "resident_id"])
        .returning(Acknowledgement.__table__.c.id)
    )


CONFIRM = {
    "postgresql": _confirm_statement(postgresql.insert),
    "sqlite": _confirm_statement(sqlite.insert),
}


def confirm(
    session: Session,
    clock: Clock,
    resident: Resident,
    circular_id: int,
    channel: Channel = Channel.line,
) -> ConfirmResult:
    """Record 「確認しました」 from LINE (the postback) or the web (the detail page's button)."""
    circular = delivered_circular(session, resident, circular_id)
    if circular is None:
        return "unknown"
    # INSERT … ON CONFLICT DO NOTHING: two taps at once both see "no row yet"; the constraint,
    # not a read-then-write, decides which one counts.
    dialect = session.get_bind().dialect.name
    statement = CONFIRM["postgresql" if dialect == "postgresql" else "sqlite"]
    parameters = {
        "circular_id": circular_id,
        "resident": resident.id,
        "at": clock.now(),
        "channel": channel,
    }
    if session.execute(statement, parameters).first() is None:
        return "already"
    families.confirm_for_household(session, clock, resident, circular)
    return "confirmed"


def answer(
    session: Session,
    clock: Clock,
    resident: Resident,
    circular_id: int,
    position: int,
    channel: Channel = Channel.line,
) -> AnswerResult:
    """Record or change the answer until the deadline, from LINE (the card's buttons) or the web
    (the detail page's). Answering also confirms."""
    circular = delivered_circular(session, resident, circular_id)
    if circular is None:
        return AnswerResult("unknown")
    option = session.scalars(
        select(AnswerOption).where(
            AnswerOption.circular_id == circular_id, AnswerOption.position == position
        )
    ).first()
    if option is None or circular.question_kind is not QuestionKind.choice:
        return AnswerResult("unknown")
    label = answer_label(circular, resident, position)
    if not answers_open(circular, clock.now()):
        return AnswerResult("closed", label)
    record_answer(session, clock, resident, circular, channel, answer_option_id=option.id)
    return AnswerResult(
        "recorded", label, circular.safety_check, circular.answer_deadline is not None
    )


def record_answer(
    session: Session,
    clock: Clock,
    resident: Resident,
    circular: Circular,
    channel: Channel,
    **answer: int | str | None,
) -> None:
    """Write the resident's answer (an option, a headcount or a text: `answer`'s columns), which
    also confirms; a later answer replaces it. The caller checked the circular was delivered to
    them and answers are open."""
    now = clock.now()
    values = {"answer_option_id": None, "answer_count": None, "answer_text": None, **answer}
    statement = _insert(session).values(
        circular_id=circular.id,
        resident_id=resident.id,
        confirmed_at=now,
        channel=channel,
        answered_at=now,
        **values,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["circular_id", "resident_id"],
            set_={**values, "answered_at": now},
        )
    )
    families.confirm_for_household(session, clock, resident, circular)
    # The upsert bypassed the ORM: objects loaded earlier must not show the old answer.
    session.expire_all()


def answers_open(circular: Circular, now: datetime) -> bool:
    """Answers may be given and changed until the deadline (to the minute it names)."""
    return circular.answer_deadline is None or now <= circular.answer_deadline


def read_whole(session: Session, clock: Clock, resident: Resident, circular_id: int) -> str | None:
    """「詳しく見る」 in the chat: the full text for the reply, or None (not delivered to them).
    Asking for it counts as opening the circular, as the detail page does, once."""
    circular = delivered_circular(session, resident, circular_id)
    if circular is None:
        return None
    reading.record_open(session, clock, circular_id, resident.id)
    return full_text(circular, resident.locale)


def answer_label(circular: Circular, resident: Resident, position: int) -> str:
    """The option at `position` as the resident's buttons said it (the version they read)."""
    version = translations.for_reader(circular, resident.locale)
    labels = translations.answer_labels(circular, version)
    positions = [option.position for option in circular.options]
    return labels[positions.index(position)]


def full_text(circular: Circular, locale: str | None = None) -> str:
    """Title and body as one text message, in the version a resident with `locale` reads, cut to
    LINE's limit with an ellipsis."""
    version = translations.for_reader(circular, locale)
    # LINE ends a line with "\n"; a browser's form posted "\r\n", which counts twice to the limit.
    body = "\n".join(paragraph_lines(version.body))
    return truncate_utf16(f"{version.title}\n\n{body}", TEXT_LIMIT)


def truncate_utf16(text: str, limit: int) -> str:
    if _utf16_length(text) <= limit:
        return text
    budget = limit - _utf16_length(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for char in text:
        size = _utf16_length(char)
        if used + size > budget:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _insert(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL do)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # On the table, not the mapped class: the ORM's bulk-insert path costs more than the INSERT.
    return insert(cast(Table, Acknowledgement.__table__))
