"""Residents (住民): LINE users who follow the bot."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, Group
from models.base import Base, utcnow
from models.types import enum_type


class FollowStatus(enum.Enum):
    following = "following"  # receives circulars
    blocked = "blocked"  # unfollowed or blocked the bot: gets nothing until they unblock


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (
        # Targeting asks "who follows in these associations / groups": both are covered.
        Index("ix_residents_association_status", "association_id", "follow_status"),
        Index("ix_residents_group_status", "group_id", "follow_status"),
        # Digital reach counts registered, following residents per association from the index
        # alone (migration 0022).
        Index(
            "ix_residents_reach",
            "association_id",
            "follow_status",
            "unregistered_at",
            "registered_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(33), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    follow_status: Mapped[FollowStatus] = mapped_column(
        enum_type(FollowStatus, "follow_status"), default=FollowStatus.following
    )
    # The resident's LINE language (e.g. "ja", "en"); messages fall back to Japanese.
    locale: Mapped[str] = mapped_column(String(16), default="ja")
    followed_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_at: Mapped[datetime | None]
    # When the follow or unfollow that set follow_status happened, by LINE's event timestamp:
    # a redelivered older event must not undo a newer one (residents.registration.follow).
    follow_changed_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    # Set by 「登録解除」: the row is then anonymous (residents.registration.unregister).
    unregistered_at: Mapped[datetime | None]
    # The privacy notice the resident was shown when they registered (a version string from
    # the settings) and when they said 「はい」 to it (docs/privacy.md).
    consent_version: Mapped[str | None] = mapped_column(String(64))
    consented_at: Mapped[datetime | None]
    # When what identified them was removed (登録解除, an admin's erase, or the retention period
    # after blocking the bot): the row then only counts in statistics.
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    association: Mapped[Association | None] = relationship()
    group: Mapped[Group | None] = relationship()
