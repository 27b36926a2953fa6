"""The circular card residents receive: built in one place from line-bot-sdk's typed models and
checked against LINE's limits before anything is sent.

The card goes out by multicast, the same message to up to 500 residents, so it carries nothing
per resident: its buttons are postbacks, and the bot answers each tap for that resident.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexImage,
    FlexMessage,
    FlexText,
    PostbackAction,
)

from broadcasts.postbacks import Answer, Confirm, Details, encode
from models import AttachmentKind, Circular

TOKYO = ZoneInfo("Asia/Tokyo")
ALT_TEXT_LIMIT = 400  # LINE shows altText in notifications; it must stay short
BUBBLE_LIMIT = 30 * 1024  # bytes of JSON
EXCERPT_LENGTH = 120
AREA_LABEL_LENGTH = 40
WEEKDAYS = "月火水木金土日"


class UnsendableCircular(Exception):
    """The circular cannot become a LINE message; the message says why, for its author."""


def circular_card(circular: Circular, public_url: str | None = None) -> FlexMessage:
    """The card for `circular`, or UnsendableCircular with the reason.

    With `public_url` (KAIRAN_PUBLIC_URL) the circular's first photo is the bubble's hero image,
    served from `/files/<storage name>`; without it (checks that send nothing) the card has none.
    """
    alt_text = _alt_text(circular)
    if len(alt_text) > ALT_TEXT_LIMIT:
        raise UnsendableCircular("題名が長すぎます（通知に表示できません）")
    bubble = FlexBubble(
        hero=_hero(circular, public_url),
        header=FlexBox(
            layout="vertical",
            contents=[FlexText(text=f"回覧　{area_label(circular)}", size="sm", color="#555555")],
        ),
        body=FlexBox(layout="vertical", spacing="md", contents=_body(circular)),
        footer=FlexBox(layout="vertical", spacing="sm", contents=_buttons(circular)),
    )
    message = FlexMessage(alt_text=alt_text, contents=bubble)
    size = len(json.dumps(bubble.to_dict(), ensure_ascii=False).encode("utf-8"))
    if size > BUBBLE_LIMIT:
        raise UnsendableCircular(f"カードが大きすぎます（{size} バイト、上限 {BUBBLE_LIMIT}）")
    return message


def _alt_text(circular: Circular) -> str:
    """What notifications and the chat list show: where it is from, the title, what to do."""
    area = area_label(circular)
    prefix = f"【回覧・{area}】" if area else "【回覧】"
    if circular.question:
        action = "（回答をお願いします）"
    elif circular.confirmation_required:
        action = "（確認をお願いします）"
    else:
        action = ""
    return f"{prefix}{circular.title}{action}"


def _hero(circular: Circular, public_url: str | None) -> FlexImage | None:
    photo = next((a for a in circular.attachments if a.kind is AttachmentKind.image), None)
    if photo is None or public_url is None:
        return None
    return FlexImage(
        url=f"{public_url.rstrip('/')}/files/{photo.storage_name}",
        size="full",
        aspect_ratio="20:13",
        aspect_mode="cover",
    )


def area_label(circular: Circular) -> str:
    names: list[str] = []
    for target in circular.targets:
        if target.district is not None:
            names.append(target.district.name)
        elif target.association is not None:
            names.append(target.association.name)
        elif target.group is not None:
            names.append(f"{target.group.association.name} {target.group.name}")
    label = "・".join(names)
    if len(label) > AREA_LABEL_LENGTH:
        label = label[: AREA_LABEL_LENGTH - 2] + "ほか"
    return label


def excerpt(body: str) -> str:
    flat = " ".join(body.split())
    if len(flat) <= EXCERPT_LENGTH:
        return flat
    return flat[: EXCERPT_LENGTH - 1] + "…"


def tokyo_date(moment: datetime) -> str:
    local = moment.astimezone(TOKYO)
    return f"{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}）"


def _body(circular: Circular) -> list[FlexText]:
    contents = [
        FlexText(text=circular.title, weight="bold", size="lg", wrap=True),
        FlexText(text=excerpt(circular.body) or " ", size="md", wrap=True),
    ]
    if circular.event_date is not None:
        day = circular.event_date
        when = f"{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"
        contents.append(FlexText(text=f"日にち：{when}", size="md", wrap=True))
    if circular.question:
        contents.append(FlexText(text=circular.question, size="md", weight="bold", wrap=True))
        if circular.answer_deadline is not None:
            deadline = tokyo_date(circular.answer_deadline)
            contents.append(FlexText(text=f"回答のしめきり：{deadline}", size="sm", wrap=True))
    return contents


def _buttons(circular: Circular) -> list[FlexButton]:
    buttons = answer_buttons(circular)
    if circular.confirmation_required:
        buttons.append(confirm_button(circular))
    buttons.append(details_button(circular))
    return buttons


def answer_buttons(circular: Circular) -> list[FlexButton]:
    return [
        _postback_button(option.label, encode(Answer(circular.id, option.position)), "secondary")
        for option in circular.options
    ]


def confirm_button(circular: Circular) -> FlexButton:
    return _postback_button("確認しました", encode(Confirm(circular.id)), "primary")


def details_button(circular: Circular) -> FlexButton:
    return _postback_button("詳しく見る", encode(Details(circular.id)), "link")


def _postback_button(label: str, data: str, style: str) -> FlexButton:
    # The label is echoed into the chat as the resident's own words, as a paper stamp would be.
    return FlexButton(
        style=style, action=PostbackAction(label=label, data=data, display_text=label)
    )


def unit_name(circular_id: int) -> str:
    """The customAggregationUnits name LINE's statistics use for this circular."""
    return f"circular_{circular_id}"
