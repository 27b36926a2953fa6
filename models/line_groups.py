"""The association's LINE group: a group chat the bot was invited to and an officer linked to
their association by a one-time code, and the circulars posted there. Nothing said in the group
is kept: only its LINE id, its member count and who linked it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas import Association
from models.base import Base, utcnow
from models.deliveries import BatchStatus
from models.types import enum_type


class LineGroup(Base):
    """A LINE group chat linked to an association. `active` ends when the bot leaves (removed
    by the group, or asked to by an officer); a later link of the same chat revives the row."""

    __tablename__ = "line_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_group_id: Mapped[str] = mapped_column(String(33), unique=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"), index=True)
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    linked_at: Mapped[datetime]
    # LINE's count when linked, kept up by memberJoined/memberLeft: a post costs one message
    # per member.
    member_count: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    left_at: Mapped[datetime | None]

    association: Mapped[Association] = relationship()


class LineGroupCode(Base):
    """A one-time code an officer gets on the dashboard and types in the group to link it; only
    its SHA-256 is stored."""

    __tablename__ = "line_group_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id"))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class GroupPost(Base):
    """A circular's post in a linked group: a push to the group id sent like a batch of one,
    with its own retry key, so the group gets it exactly once."""

    __tablename__ = "group_posts"
    __table_args__ = (UniqueConstraint("circular_id", "line_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"))
    line_group_id: Mapped[int] = mapped_column(ForeignKey("line_groups.id"))
    # Its members when it was released: what it will cost.
    members: Mapped[int] = mapped_column(default=0)
    retry_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "group_post_status"), default=BatchStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
