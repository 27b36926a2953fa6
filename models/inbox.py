"""What residents write to their association (「自治会へ」): threads, their messages, the officers'
answers, the LINE pushes about them, and the prompt that makes the next text the message."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.deliveries import BatchStatus
from models.types import enum_type


class ThreadStatus(enum.Enum):
    open = "open"  # 未対応: the resident wrote and no officer has taken it up
    in_progress = "in_progress"  # 対応中: an officer answered or took it up
    done = "done"  # 完了: closed by an officer; the resident's next message opens a new thread


class InboxThread(Base):
    """One resident's conversation with their association's officers. The resident is known to
    staff by their house label (households.labels.staff_name), never by their LINE id."""

    __tablename__ = "inbox_threads"
    __table_args__ = (Index("ix_inbox_threads_list", "association_id", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    status: Mapped[ThreadStatus] = mapped_column(
        enum_type(ThreadStatus, "inbox_thread_status"), default=ThreadStatus.open
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last message's time: the list shows the most recent first.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who last changed the status (an officer), and when.
    status_set_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    status_set_at: Mapped[datetime | None]


class InboxMessage(Base):
    """One message of a thread: the resident's (`answered_by_id` None) or an officer's answer."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("inbox_threads.id"), index=True)
    # Kept for the per-resident rate limit (the thread's resident, for their own messages).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    body: Mapped[str] = mapped_column(Text)
    # A photo the resident sent right after it: its file in the uploads' inbox folder.
    photo_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxPush(Base):
    """A LINE push about one message, sent like a batch of one with its own retry key: the
    short notice to one officer of a resident's message (`staff_member_id`), or an officer's
    answer to the resident (`staff_member_id` None). Each arrives once."""

    __tablename__ = "inbox_pushes"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_messages.id"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    retry_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "inbox_push_status"), default=BatchStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxPrompt(Base):
    """「自治会へ」 alone: the bot waits for the message (the very next text) since
    `prompted_at`."""

    __tablename__ = "inbox_prompts"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    prompted_at: Mapped[datetime]
