"""Circulars (回覧): one notice, its target areas, attachments and optional question."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association, District, Group
from models.base import Base, utcnow
from models.staff import StaffMember
from models.types import enum_type

if TYPE_CHECKING:
    from models.interest_groups import CircularInterestTarget
    from models.translations import CircularTranslation


class CircularStatus(enum.Enum):
    draft = "draft"  # being written; nobody sees it
    scheduled = "scheduled"  # waits for scheduled_at, or was held (see hold_reason)
    sending = "sending"  # released: deliveries exist and batches are being sent
    sent = "sent"  # every batch reached an end state
    cancelled = "cancelled"  # withdrawn before release


class QuestionKind(enum.Enum):
    choice = "choice"  # 2–4 options (出欠, yes/no, …): AnswerOption rows
    headcount = "headcount"  # how many people (参加人数): a number 0..MAX_HEADCOUNT
    text = "text"  # a short free answer, shown only to the officers of the resident's association


# A headcount answer is at most this many people (a household's attendance at an event).
MAX_HEADCOUNT = 20
# A free answer is at most this many characters.
ANSWER_TEXT_LIMIT = 200


class Circular(Base):
    __tablename__ = "circulars"
    __table_args__ = (Index("ix_circulars_status_scheduled_at", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[CircularStatus] = mapped_column(
        enum_type(CircularStatus, "circular_status"), default=CircularStatus.draft
    )
    confirmation_required: Mapped[bool] = mapped_column(default=True)
    # One 「確認しました」 per household (世帯) suffices: it confirms for every member.
    one_per_household: Mapped[bool] = mapped_column(default=False)
    # Urgent circulars (防災, 断水…) may be sent and reminded inside quiet hours.
    urgent: Mapped[bool] = mapped_column(default=False)
    # 安否確認: answered 「無事です」/「助けが必要」, reminded every 30 minutes (broadcasts.safety).
    safety_check: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Also posted in the LINE groups linked to the associations it goes to (models.line_groups).
    line_group_post: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A correction (訂正) points at the circular it corrects and goes to that one's residents.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("circulars.id"), index=True)
    # Hours after release at which residents who have not confirmed are reminded (at most two).
    reminder_hours: Mapped[list[int]] = mapped_column(JSON, default=lambda: [24, 72])
    question: Mapped[str | None] = mapped_column(String(200))
    # What kind of answer the question asks for (only meaningful with a question).
    question_kind: Mapped[QuestionKind] = mapped_column(
        enum_type(QuestionKind, "question_kind"),
        default=QuestionKind.choice,
        server_default=QuestionKind.choice.value,
    )
    answer_deadline: Mapped[datetime | None]
    # The day of the event the circular announces (清掃活動, 防災訓練…), in Asia/Tokyo.
    event_date: Mapped[date | None]
    scheduled_at: Mapped[datetime | None]
    # Why a release did not start (e.g. not enough message quota); shown to the author.
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    released_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    author: Mapped[StaffMember] = relationship()
    corrects: Mapped[Circular | None] = relationship(remote_side=[id])
    targets: Mapped[list[CircularTarget]] = relationship(
        back_populates="circular", cascade="all, delete-orphan"
    )
    # Interest groups and 「役員会」 it also goes to (models/interest_groups.py).
    interest_targets: Mapped[list[CircularInterestTarget]] = relationship(
        cascade="all, delete-orphan"
    )
    options: Mapped[list[AnswerOption]] = relationship(
        back_populates="circular", cascade="all, delete-orphan", order_by="AnswerOption.position"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="circular", cascade="all, delete-orphan", order_by="Attachment.position"
    )
    # The author's versions in other languages and in やさしい日本語 (models/translations.py).
    translations: Mapped[list[CircularTranslation]] = relationship(
        back_populates="circular",
        cascade="all, delete-orphan",
        order_by="CircularTranslation.language",
    )


class CircularTarget(Base):
    """One area a circular goes to: exactly one of a district, an association or a group."""

    __tablename__ = "circular_targets"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN district_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN association_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_area",
        ),
        # NULLs are distinct, so each pair forbids naming the same area twice.
        UniqueConstraint("circular_id", "district_id"),
        UniqueConstraint("circular_id", "association_id"),
        UniqueConstraint("circular_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("associations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))

    circular: Mapped[Circular] = relationship(back_populates="targets")
    district: Mapped[District | None] = relationship()
    association: Mapped[Association | None] = relationship()
    group: Mapped[Group | None] = relationship()


class AnswerOption(Base):
    """One choice of a circular's question (出欠, yes/no, …)."""

    __tablename__ = "answer_options"
    __table_args__ = (UniqueConstraint("circular_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(20))

    circular: Mapped[Circular] = relationship(back_populates="options")


class AttachmentKind(enum.Enum):
    image = "image"  # shown on the card (the first one) and on the detail page
    pdf = "pdf"  # LINE bots cannot send files: linked from the detail page only


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("circular_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[AttachmentKind] = mapped_column(enum_type(AttachmentKind, "attachment_kind"))
    # The name the author uploaded, for display only; files are stored and served by storage_name.
    original_name: Mapped[str] = mapped_column(String(255))
    # Random and unguessable: it is the only thing that makes an attachment's URL private.
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    circular: Mapped[Circular] = relationship(back_populates="attachments")
