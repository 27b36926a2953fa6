"""What residents do with a circular: open its detail page, confirm it, answer its question."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.circulars import ANSWER_TEXT_LIMIT, MAX_HEADCOUNT, AnswerOption, Circular
from models.residents import Resident
from models.types import enum_type


class Channel(enum.Enum):
    line = "line"  # the 「確認しました」 postback in LINE
    web = "web"  # the confirm button on the detail page
    # Another member of the resident's household confirmed a one-per-household circular.
    household = "household"


class Acknowledgement(Base):
    """A resident's 「確認しました」, and their answer if the circular asks a question: an option,
    a headcount or a short text, as the circular's `question_kind` says. One row per circular ×
    resident, so one answer each. It is answered when any of the three is set (`answered`; the
    delivery's flag follows the same rule, migration 0025)."""

    __tablename__ = "acknowledgements"
    __table_args__ = (
        UniqueConstraint("circular_id", "resident_id"),
        Index("ix_acknowledgements_circular_confirmed_at", "circular_id", "confirmed_at"),
        # The answer tallies count the answered ones from this index alone.
        Index("ix_acknowledgements_circular_answer", "circular_id", "answer_option_id"),
        CheckConstraint(
            f"answer_count IS NULL OR answer_count BETWEEN 0 AND {MAX_HEADCOUNT}",
            name="answer_count_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    answer_option_id: Mapped[int | None] = mapped_column(ForeignKey("answer_options.id"))
    answer_count: Mapped[int | None] = mapped_column(SmallInteger)
    answer_text: Mapped[str | None] = mapped_column(String(ANSWER_TEXT_LIMIT))
    answered_at: Mapped[datetime | None]

    circular: Mapped[Circular] = relationship()
    resident: Mapped[Resident] = relationship()
    answer: Mapped[AnswerOption | None] = relationship()

    @classmethod
    def answered(cls) -> ColumnElement[bool]:
        """Whether an answer was given: an option, a headcount or a text."""
        return or_(
            cls.answer_option_id.is_not(None),
            cls.answer_count.is_not(None),
            cls.answer_text.is_not(None),
        )


class Open(Base):
    """The first time a resident opened a circular's detail page; later views write nothing."""

    __tablename__ = "opens"
    __table_args__ = (
        UniqueConstraint("circular_id", "resident_id"),
        Index("ix_opens_circular_opened_at", "circular_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerPrompt(Base):
    """At most one per resident: the circular whose answer the bot waits for as the resident's
    next typed message (a free answer, or a headcount of 10 or more), after 「回答する」."""

    __tablename__ = "answer_prompts"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
