"""Rolling Kairan out district by district: welcome messages, join codes, circular templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, District, Group
from models.base import Base, utcnow
from models.circulars import QuestionKind
from models.deliveries import BatchStatus
from models.types import enum_type


class DistrictWelcome(Base):
    """The message a resident of a preparing district gets when the district becomes active.

    One row per district × resident (the unique constraint makes activating twice harmless);
    sent by the clock like a batch of one, with its own retry key."""

    __tablename__ = "district_welcomes"
    __table_args__ = (UniqueConstraint("district_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    retry_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "welcome_status"), default=BatchStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JoinCode(Base):
    """The short code printed on an association's (or a group's) join flyer.

    Rotating a code revokes it and issues a new one: a revoked code no longer registers anyone.
    """

    __tablename__ = "join_codes"
    __table_args__ = (
        # One code in force per association and per group: the flyers in people's hands carry
        # it, and rotating must leave exactly one.
        Index(
            "uq_join_codes_association_in_force",
            "association_id",
            unique=True,
            sqlite_where=text("group_id IS NULL AND revoked_at IS NULL"),
            postgresql_where=text("group_id IS NULL AND revoked_at IS NULL"),
        ),
        Index(
            "uq_join_codes_group_in_force",
            "group_id",
            unique=True,
            sqlite_where=text("group_id IS NOT NULL AND revoked_at IS NULL"),
            postgresql_where=text("group_id IS NOT NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    association: Mapped[Association] = relationship()
    group: Mapped[Group | None] = relationship()


class JoinCodeFailure(Base):
    """A typed code that matched nothing: counted per LINE user to stop guessing.

    Keyed by the SHA-256 of the LINE user id, not by the resident: leaving (「登録解除」) or
    never following must not start the count again, and the table names nobody."""

    __tablename__ = "join_code_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_hash: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class CircularTemplate(Base):
    """A circular to start from: city-wide (no district) or one district's own.

    Holds what the compose form holds, with dates as offsets from the day it is used."""

    __tablename__ = "circular_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set for the city's starter set, so loading it again changes nothing.
    key: Mapped[str | None] = mapped_column(String(40), unique=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(String(200))
    question_kind: Mapped[QuestionKind] = mapped_column(
        enum_type(QuestionKind, "question_kind"),
        default=QuestionKind.choice,
        server_default=QuestionKind.choice.value,
    )
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Days from the day of use to the answer deadline (at DEADLINE_HOUR Tokyo) / to the event.
    deadline_days: Mapped[int | None]
    event_days: Mapped[int | None]
    confirmation_required: Mapped[bool] = mapped_column(Boolean, default=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    one_per_household: Mapped[bool] = mapped_column(Boolean, default=False)
    # The やさしい日本語 version and translations, as circulars.translations.Version fields.
    translations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    district: Mapped[District | None] = relationship()
