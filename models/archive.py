"""A resident searching their past circulars in LINE (「検索」)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ArchiveSearch(Base):
    """At most one per resident: the word of their last search, so 「次へ」 pages through it
    (postback data is ASCII and short; the word is neither), or no word yet while the bot waits
    for the next message after 「検索」."""

    __tablename__ = "archive_searches"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[str | None] = mapped_column(String(50))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
