"""What residents do with a circular: open its detail page, confirm it, answer its question."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.circulars import AnswerOption, Circular
from models.residents import Resident
from models.types import enum_type


class Channel(enum.Enum):
    line = "line"  # the 「確認しました」 postback in LINE
    web = "web"  # the confirm button on the detail page
    # Another member of the resident's household confirmed a one-per-household circular.
    household = "household"


class Acknowledgement(Base):
    """A resident's 「確認しました」, and their answer if the circular asks a question."""

    __tablename__ = "acknowledgements"
    __table_args__ = (
        UniqueConstraint("circular_id", "resident_id"),
        Index("ix_acknowledgements_circular_confirmed_at", "circular_id", "confirmed_at"),
        # The answer tallies count the answered ones from this index alone.
        Index("ix_acknowledgements_circular_answer", "circular_id", "answer_option_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    answer_option_id: Mapped[int | None] = mapped_column(ForeignKey("answer_options.id"))
    answered_at: Mapped[datetime | None]

    circular: Mapped[Circular] = relationship()
    resident: Mapped[Resident] = relationship()
    answer: Mapped[AnswerOption | None] = relationship()


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
