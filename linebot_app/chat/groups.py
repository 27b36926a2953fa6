"""Events from a LINE group chat (the association's LINE group, broadcasts.rollout.line_groups).

Invited (join): the bot says once how an officer links the group. A text that reads as a link
code («RENKEI-…») links it, and the bot says so once. Removed (leave): the group is unlinked.
Members joining or leaving (memberJoined, memberLeft) change what a post there costs. Everything
else said in the group is chatter: it is not read past asking whether it is a link code, not
claimed, not stored and not logged (only the event's id and type, as any ignored event).

The group is many people at once, so the words are the plain Japanese of the residents'
catalogue (broadcasts/core/locales), not any one member's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging import Message, TextMessage
from linebot.v3.webhooks import (
    JoinEvent,
    LeaveEvent,
    MemberJoinedEvent,
    MemberLeftEvent,
    MessageEvent,
    TextMessageContent,
)
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.rollout import line_groups
from linebot_app.chat.context import Context
from linebot_app.chat.replies import gettext_in

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupEvent:
    """What Kairan acts on from a group: the event's kind, the group, a link code's random part,
    or how many members joined (+) or left (−)."""

    kind: str  # join, leave, members, code
    line_group_id: str
    code: str | None = None
    change: int = 0


def parse(event: Any) -> GroupEvent | None:
    """The event as Kairan acts on it, or None: chatter and anything else from the group."""
    group_id = getattr(event.source, "group_id", None)
    if not isinstance(group_id, str):
        return None
    if isinstance(event, JoinEvent):
        return GroupEvent("join", group_id)
    if isinstance(event, LeaveEvent):
        return GroupEvent("leave", group_id)
    if isinstance(event, MemberJoinedEvent):
        return GroupEvent("members", group_id, change=len(event.joined.members))
    if isinstance(event, MemberLeftEvent):
        return GroupEvent("members", group_id, change=-len(event.left.members))
    if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
        code = line_groups.typed_code(event.message.text)
        if code is not None:
            return GroupEvent("code", group_id, code=code)
    return None


def apply(
    session: Session, clock: Clock, event: GroupEvent, member_count: int | None
) -> list[Message]:
    """The event's effect (flushed; the webhook commits) and the reply to the group."""
    _ = gettext_in(None)
    if event.kind == "join":
        return [
            TextMessage(
                text=_(
                    "Kairan です。自治会の役員の方は、管理画面の「LINEグループ」で連携コードを"
                    "出して、このグループに送ってください。連携すると、自治会の回覧がここにも"
                    "届きます。ほかの会話は読みません。"
                )
            )
        ]
    if event.kind == "leave":
        line_groups.left(session, clock, event.line_group_id)
        return []
    if event.kind == "members":
        line_groups.members_changed(session, event.line_group_id, event.change)
        return []
    if member_count is None:
        later = _("いまは連携できませんでした。しばらくしてから、もう一度送ってください。")
        return [TextMessage(text=later)]
    assert event.code is not None  # noqa: S101 - a "code" event carries one
    linked = line_groups.link(session, clock, event.line_group_id, event.code, member_count)
    if linked is None:
        refused = _("このコードは使えません。管理画面で新しいコードを出してください。")
        return [TextMessage(text=refused)]
    return [
        TextMessage(
            text=_("このグループを「{association}」のLINEグループとして連携しました。").format(
                association=linked.association_name
            )
        )
    ]


def on_code_in_own_chat(context: Context, _code: str) -> list[Message]:
    """A link code sent to the bot itself instead of in the group: where it belongs. The code
    is left unused."""
    _ = gettext_in(context.language())
    return [TextMessage(text=_("このコードは、自治会のLINEグループのトークに送ってください。"))]
