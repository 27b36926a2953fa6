"""A circular also posted in its associations' LINE groups (「自治会のLINEグループにも投稿」).

The groups are those linked to an association the circular goes to as a whole, the bot still
in them (broadcasts.rollout.line_groups). Each costs one message per member, as LINE counts a
push by its recipients. Release writes one `GroupPost` per group in its transaction, with its
retry key; the clock pushes it through `delivery.pushes.send_due`, the loop that counts and
commits an attempt before calling LINE and reuses the key on a retry — so a group gets the
circular once, whatever crashes or retries in between.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.delivery.pushes import Push
from models import (
    BatchStatus,
    Circular,
    CircularTarget,
    GroupPost,
    LineGroup,
)

# A budget's line for the posts, beside CARD and the follow-ups' slots.
SLOT = "line-group"
# LINE's limit for a text message.
TEXT_LIMIT = 5000


def groups_of(session: Session, circular: Circular) -> list[LineGroup]:
    """The linked groups the circular may be posted in (whether or not it is chosen)."""
    whole_associations = select(CircularTarget.association_id).where(
        CircularTarget.circular_id == circular.id,
        CircularTarget.association_id.is_not(None),
        CircularTarget.group_id.is_(None),
    )
    return list(
        session.scalars(
            select(LineGroup)
            .where(LineGroup.active.is_(True), LineGroup.association_id.in_(whole_associations))
            .order_by(LineGroup.id)
        )
    )


def cost(session: Session, circular: Circular) -> int:
    """Messages the posts will use: each chosen group's members."""
    if not circular.line_group_post:
        return 0
    return sum(group.member_count for group in groups_of(session, circular))


def snapshot(session: Session, circular: Circular) -> int:
    """At release: one post per group, with its key; returns how many."""
    if not circular.line_group_post:
        return 0
    groups = groups_of(session, circular)
    for group in groups:
        session.add(
            GroupPost(circular_id=circular.id, line_group_id=group.id, members=group.member_count)
        )
    session.flush()
    return len(groups)


def next_due(session: Session, now: datetime) -> GroupPost | None:
    """The next post due (pushes.send_due's `next_due`)."""
    return session.scalars(
        select(GroupPost)
        .where(
            GroupPost.status == BatchStatus.pending,
            (GroupPost.next_attempt_at.is_(None)) | (GroupPost.next_attempt_at <= now),
        )
        .order_by(GroupPost.id)
        .limit(1)
    ).first()


def post_push(session: Session, post: GroupPost) -> Push:
    """The post's message to the group; nothing when the bot left the group meanwhile."""
    from linebot.v3.messaging import TextMessage

    group = session.get_one(LineGroup, post.line_group_id)
    if not group.active:
        return Push(skip="the bot left the group")
    circular = session.get_one(Circular, post.circular_id)
    return Push(group.line_group_id, [TextMessage(text=post_text(circular))])


def post_text(circular: Circular) -> str:
    """The circular as one text: the group sees it whole; confirming stays in each resident's
    own chat with the bot (a tap in a group is not a resident's)."""
    head = f"【回覧】{circular.title}\n\n"
    tail = "\n\n確認は、Kairan の公式アカウントとのトークからお願いします。"
    room = TEXT_LIMIT - len(head) - len(tail)
    body = circular.body if len(circular.body) <= room else circular.body[: room - 1] + "…"
    return head + body + tail
