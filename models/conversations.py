"""Where a resident is in a conversation with the bot (registration, unregistration)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, District, Group
from models.base import Base, utcnow
from models.residents import Resident
from models.types import enum_type


class ConversationStep(enum.Enum):
    district = "district"  # choosing a school district (list or typed search)
    association = "association"  # choosing an association in `district`
    group = "group"  # choosing a group of `association`
    confirm = "confirm"  # everything chosen; waiting for はい / やり直す / やめる
    unregister = "unregister"  # asked whether to remove the registration


class Conversation(Base):
    """At most one per resident; deleted when the conversation ends.

    The registration being chosen lives here, not on the resident, so a resident who changes
    their registration keeps receiving circulars for the old one until they confirm the new one.
    A postback that does not fit the current step is stale and changes nothing.
    """

    __tablename__ = "conversations"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[ConversationStep] = mapped_column(enum_type(ConversationStep, "conversation_step"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    resident: Mapped[Resident] = relationship()
    district: Mapped[District | None] = relationship()
    association: Mapped[Association | None] = relationship()
    group: Mapped[Group | None] = relationship()
