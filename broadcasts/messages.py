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
    FlexMessage,
    FlexText,
    PostbackAction,
)

from broadcasts.postbacks import Answer, Confirm, Details, encode
from models import Circular

TOKYO = ZoneInfo("Asia/Tokyo")
ALT_TEXT_LIMIT = 400  # LINE shows altText in notifications; it must stay short
BUBBLE_LIMIT = 30 * 1024  # bytes of JSON
EXCERPT_LENGTH = 120
AREA_LABEL_LENGTH = 40
WEEKDAYS = "月火水木金土日"


class UnsendableCircular(Exception):
    """The circular cannot become a LINE message; the message says why, for its author."""


def circular_card(circular: Circular) -> FlexMessage:
    """The card for `circular`, or UnsendableCircular with the reason."""
    alt_text = f"【回覧】{circular.title}"
    if len(alt_text) > ALT_TEXT_LIMIT:
        raise UnsendableCircular("題名が長すぎます（通知に表示できません）")
    bubble = FlexBubble(
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
    buttons = [
        FlexButton(
            style="secondary",
            action=PostbackAction(
                label=option.label,
                data=encode(Answer(circular.id, option.position)),
                display_text=option.label,
            ),
        )
        for option in circular.options
    ]
    if circular.confirmation_required:
        buttons.append(
            FlexButton(
                style="primary",
                action=PostbackAction(
                    label="確認しました",
                    data=encode(Confirm(circular.id)),
                    display_text="確認しました",
                ),
            )
        )
    buttons.append(
        FlexButton(
            style="link",
            action=PostbackAction(
                label="詳しく見る",
                data=encode(Details(circular.id)),
                display_text="詳しく見る",
            ),
        )
    )
    return buttons


def unit_name(circular_id: int) -> str:
    """The customAggregationUnits name LINE's statistics use for this circular."""
    return f"circular_{circular_id}"
