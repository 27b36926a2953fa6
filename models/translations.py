"""Versions of a circular's text written by its author: other languages and やさしい日本語."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.circulars import Circular

# The language tag of the author's やさしい日本語 version (BCP 47 private use: "easy Japanese").
EASY_JAPANESE = "ja-x-easy"


class CircularTranslation(Base):
    """The circular's title, body and answer labels in one language ("en", "ja-x-easy", …), as
    its author wrote them; residents reading that language see it instead of the Japanese
    original. `answers` holds one label per option, by position, and `question` the question;
    none: the Japanese ones."""

    __tablename__ = "circular_translations"
    __table_args__ = (UniqueConstraint("circular_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    answers: Mapped[list[str] | None] = mapped_column(JSON)
    question: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    circular: Mapped[Circular] = relationship(back_populates="translations")
