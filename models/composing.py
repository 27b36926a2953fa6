"""Where a staff member is in composing a circular in LINE (「回覧作成」)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.circulars import Circular
from models.staff import StaffMember
from models.types import enum_type


class ComposeStep(enum.Enum):
    title = "title"  # waiting for the title
    body = "body"  # collecting the body, one message after another, until 「次へ」
    photos = "photos"  # collecting photos until 「次へ」 (or none)
    target = "target"  # choosing areas from the author's own scope, page by page
    question = "question"  # 「なし」 or the question's text
    options = "options"  # collecting 2–4 answer options
    deadline = "deadline"  # the answer deadline (datetime picker) or 「なし」
    event_date = "event_date"  # the event's day (date picker) or 「なし」
    confirmation = "confirmation"  # 「確認しました」 asked for or not
    preview = "preview"  # the preview is shown: 送信 / 予約 / 取消
    schedule = "schedule"  # waiting for the datetime picker of 「予約」


class ComposeSession(Base):
    """At most one per staff member; deleted when the draft is sent, scheduled or dropped.

    The draft itself is an ordinary `Circular` in status draft, so it survives a restart and the
    dashboard shows it too. A session untouched for 24 hours is discarded with its draft.
    """

    __tablename__ = "compose_sessions"

    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True
    )
    circular_id: Mapped[int] = mapped_column(
        ForeignKey("circulars.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[ComposeStep] = mapped_column(enum_type(ComposeStep, "compose_step"))
    # The page of the current choice list (areas), for lists longer than 13 quick replies.
    page: Mapped[int] = mapped_column(default=0)
    # The area level being browsed on the target step: "d" (districts), "a:<district id>" or
    # "g:<association id>".
    browsing: Mapped[str] = mapped_column(String(40), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    staff_member: Mapped[StaffMember] = relationship()
    circular: Mapped[Circular] = relationship()
