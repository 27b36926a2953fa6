"""The messages residents receive — the circular card and its reminders — built in one place from
line-bot-sdk's typed models and checked against LINE's limits before anything is sent; and the
cache that builds each batch's message once per circular, slot and language.

The card goes out by multicast, the same message to up to 500 residents, so it carries nothing
per resident: its buttons are postbacks, and the bot answers each tap for that resident.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from broadcasts.circulars.translations import (
    ORIGINAL,
    Version,
    answer_labels,
    question_in,
    version_in,
)
from broadcasts.core.clock import TOKYO
from broadcasts.core.i18n import SOURCE_LOCALE, Refused, StaffText, locale_for, translations
from broadcasts.core.postbacks import Answer, Confirm, Details, Respond, encode
from broadcasts.delivery.line import Serialised, serialise
from models import CARD, AttachmentKind, Circular, CircularTarget, DeliveryBatch, QuestionKind

# line-bot-sdk is imported where LINE is called or a message is built: its models are most of a
# process's start-up (bench/startup.py), and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import FlexButton, FlexImage, FlexMessage, FlexText, Message

ALT_TEXT_LIMIT = 400  # LINE shows altText in notifications; it must stay short
BUBBLE_LIMIT = 30 * 1024  # bytes of JSON
EXCERPT_LENGTH = 120
EXCERPT_LINES = 8
AREA_LABEL_LENGTH = 40
WEEKDAYS = "月火水木金土日"


class UnsendableCircular(Refused):
    """The circular cannot become a LINE message; the message says why, for its author."""


Gettext = Callable[[str], str]


def original(circular: Circular) -> Version:
    return Version(ORIGINAL, circular.title, circular.body)


def circular_card(
    circular: Circular, public_url: str | None = None, version: Version | None = None
) -> FlexMessage:
    """The card for `circular`, or UnsendableCircular with the reason.

    With `public_url` (KAIRAN_PUBLIC_URL) the circular's first photo is the bubble's hero image,
    served from `/files/<storage name>`; without it (checks that send nothing) the card has none.
    With `version` the card carries that version's text, and its own words are in that
    version's language (English for a language Kairan has no catalogue for).
    """
    from linebot.v3.messaging import FlexBox, FlexBubble, FlexMessage, FlexText

    version = version or original(circular)
    _ = gettext_for(version)
    alt_text = _alt_text(circular, version, _)
    if len(alt_text) > ALT_TEXT_LIMIT:
        raise UnsendableCircular(StaffText("題名が長すぎます（通知に表示できません）"))
    bubble = FlexBubble(
        hero=_hero(circular, public_url),
        header=FlexBox(
            layout="vertical",
            contents=[
                FlexText(
                    text=_("回覧　{area}").format(area=area_label(circular)),
                    size="sm",
                    color="#555555",
                )
            ],
        ),
        body=FlexBox(layout="vertical", spacing="md", contents=_body(circular, version, _)),
        footer=FlexBox(layout="vertical", spacing="sm", contents=_buttons(circular, version, _)),
    )
    message = FlexMessage(alt_text=alt_text, contents=bubble)
    size = len(json.dumps(bubble.to_dict(), ensure_ascii=False).encode("utf-8"))
    if size > BUBBLE_LIMIT:
        raise UnsendableCircular(
            StaffText(
                "カードが大きすぎます（%(size)s バイト、上限 %(limit)s）",
                size=size,
                limit=BUBBLE_LIMIT,
            )
        )
    return message


def gettext_for(version: Version) -> Gettext:
    """The bot's own words on a card carrying `version`."""
    return translations(locale_for(version.language)).gettext


def _alt_text(circular: Circular, version: Version, _: Gettext) -> str:
    """What notifications and the chat list show: where it is from, the title, what to do."""
    area = area_label(circular)
    prefix = _("【回覧・{area}】").format(area=area) if area else _("【回覧】")
    if circular.question:
        action = _("（回答をお願いします）")
    elif circular.confirmation_required:
        action = _("（確認をお願いします）")
    else:
        action = ""
    return f"{prefix}{version.title}{action}"


def _hero(circular: Circular, public_url: str | None) -> FlexImage | None:
    from linebot.v3.messaging import FlexImage

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
    """The start of the body for the card, its line breaks and paragraphs kept (a wrapped Flex
    text shows "\n" as a new line): spaces inside a line squeezed, one blank line at most
    between paragraphs, cut at EXCERPT_LENGTH characters or EXCERPT_LINES lines with "…"."""
    kept = "\n".join(" ".join(line.split()) for line in paragraph_lines(body))
    lines = kept.split("\n")
    text = "\n".join(lines[:EXCERPT_LINES])
    if len(text) <= EXCERPT_LENGTH and len(lines) <= EXCERPT_LINES:
        return text
    return text[: EXCERPT_LENGTH - 1].rstrip() + "…"


def paragraph_lines(body: str) -> list[str]:
    """The body's lines, whatever its line ends (a browser's form posts "\r\n"), with runs of
    blank lines made one and none at either end: "" between two lines marks a paragraph."""
    lines: list[str] = []
    for line in body.splitlines():
        if line.strip() or (lines and lines[-1]):
            lines.append(line if line.strip() else "")
    while lines and not lines[-1]:
        lines.pop()
    return lines


def paragraphs(body: str) -> list[list[str]]:
    """The body as paragraphs of lines, for pages that show it whole (the detail and print
    pages)."""
    found: list[list[str]] = [[]]
    for line in paragraph_lines(body):
        if line:
            found[-1].append(line)
        else:
            found.append([])
    return [paragraph for paragraph in found if paragraph]


def tokyo_date(moment: datetime, locale: str = SOURCE_LOCALE) -> str:
    return day_label(moment.astimezone(TOKYO).date(), locale)


def tokyo_moment(moment: datetime, locale: str = SOURCE_LOCALE) -> str:
    """「12月10日（木） 18:00」: a deadline needs its hour, or it reads as the whole day."""
    return f"{tokyo_date(moment, locale)} {moment.astimezone(TOKYO):%H:%M}"


def day_label(day: date, locale: str = SOURCE_LOCALE) -> str:
    """「3月5日（水）」 in Japanese (plain and やさしい), Babel's short form in other languages."""
    if locale.split("-")[0] == SOURCE_LOCALE:
        return f"{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"
    return format_date(day, "EEE, MMM d", locale=locale)


def _body(circular: Circular, version: Version, _: Gettext) -> list[FlexText]:
    from linebot.v3.messaging import FlexText

    locale = locale_for(version.language)
    contents = [
        FlexText(text=version.title, weight="bold", size="lg", wrap=True),
        FlexText(text=excerpt(version.body) or " ", size="md", wrap=True),
    ]
    if circular.event_date is not None:
        when = day_label(circular.event_date, locale)
        contents.append(FlexText(text=_("日にち：{day}").format(day=when), size="md", wrap=True))
    if circular.question:
        question = question_in(circular, version)
        contents.append(FlexText(text=question or " ", size="md", weight="bold", wrap=True))
        if circular.answer_deadline is not None:
            deadline = tokyo_moment(circular.answer_deadline, locale)
            contents.append(
                FlexText(text=_("回答のしめきり：{day}").format(day=deadline), size="sm", wrap=True)
            )
    return contents


def _buttons(circular: Circular, version: Version, _: Gettext) -> list[FlexButton]:
    buttons = answer_buttons(circular, version)
    if circular.confirmation_required:
        buttons.append(confirm_button(circular, _))
    buttons.append(details_button(circular, _))
    return buttons


def answer_buttons(circular: Circular, version: Version | None = None) -> list[FlexButton]:
    """One button per option, labelled in `version`'s language; the data is the position. A
    headcount or a free answer has one 「回答する」: the chat then asks for it."""
    if circular.question and circular.question_kind is not QuestionKind.choice:
        _ = gettext_for(version or original(circular))
        return [_postback_button(_("回答する"), encode(Respond(circular.id)), "secondary")]
    labels = answer_labels(circular, version)
    return [
        _postback_button(label, encode(Answer(circular.id, option.position)), "secondary")
        for label, option in zip(labels, circular.options, strict=True)
    ]


def confirm_button(circular: Circular, _: Gettext) -> FlexButton:
    return _postback_button(_("確認しました"), encode(Confirm(circular.id)), "primary")


def details_button(circular: Circular, _: Gettext) -> FlexButton:
    return _postback_button(_("詳しく見る"), encode(Details(circular.id)), "link")


def _postback_button(label: str, data: str, style: str) -> FlexButton:
    from linebot.v3.messaging import FlexButton, PostbackAction

    # The label is echoed into the chat as the resident's own words, as a paper stamp would be.
    return FlexButton(
        style=style, action=PostbackAction(label=label, data=data, display_text=label)
    )


def unit_name(circular_id: int) -> str:
    """The customAggregationUnits name LINE's statistics use for this circular."""
    return f"circular_{circular_id}"


# --- reminders ----------------------------------------------------------------------------------


def reminder_message(circular: Circular, slot: str, version: Version | None = None) -> FlexMessage:
    """A short bubble with the same actions as the card, in the language of `version` (the
    batch's, as for the card)."""
    from linebot.v3.messaging import FlexBox, FlexBubble, FlexMessage, FlexText

    version = version or original(circular)
    _ = gettext_for(version)
    title = version.title
    buttons: list[FlexButton] = []
    if slot == "deadline":
        deadline = tokyo_moment(circular.answer_deadline, locale_for(version.language))  # type: ignore[arg-type]
        lead = _("回答のしめきりは {day} です").format(day=deadline)
        alt = _("【回覧】回答のお願い：{title}").format(title=title)
        buttons = answer_buttons(circular, version)
    elif slot.startswith("safety-"):
        lead = _("安否確認です。まだお返事がありません。ボタンで教えてください")
        alt = _("【安否確認】お返事をお願いします")
        buttons = answer_buttons(circular, version)
    elif slot == "event":
        lead = _("明日です。お忘れなく")
        alt = _("【回覧】明日です：{title}").format(title=title)
    else:
        lead = _("まだ確認されていない回覧があります")
        alt = _("【回覧】確認のお願い：{title}").format(title=title)
        buttons = [confirm_button(circular, _)]
    bubble = FlexBubble(
        body=FlexBox(
            layout="vertical",
            spacing="md",
            contents=[
                FlexText(text=lead, size="sm", color="#555555", wrap=True),
                FlexText(text=title, weight="bold", size="lg", wrap=True),
            ],
        ),
        footer=FlexBox(
            layout="vertical", spacing="sm", contents=[*buttons, details_button(circular, _)]
        ),
    )
    return FlexMessage(alt_text=alt, contents=bubble)


# --- what a batch carries, built once ------------------------------------------------------------


def message_for(
    circular: Circular,
    slot: str,
    public_url: str | None = None,
    version: Version | None = None,
) -> Message:
    """What a batch of `slot` carries: the card, or the reminder of that slot, with the text of
    the batch's version of the circular."""
    if slot == CARD:
        return circular_card(circular, public_url, version)
    return reminder_message(circular, slot, version)


class MessageCache:
    """The message of each (circular, slot, language) this worker has sent, built and
    serialised once.

    Every batch of a send carries the same message, and loading the circular (options,
    translations, targets, photos) and building it through the SDK's models cost more than the
    rest of a claim. Keeping it is safe because only batches of released circulars are claimed
    (`steps.claim_next`) and a released circular's content cannot change: the drafts' rules
    refuse to edit one that is no longer a draft or scheduled (text, question, options,
    translations, photos), and a correction is a circular of its own. `public_url`
    (KAIRAN_PUBLIC_URL) lets the card show the circular's first photo. Bounded: a worker runs
    for months.
    """

    def __init__(self, public_url: str | None = None, size: int = 64) -> None:
        self.public_url = public_url
        self.size = size
        self._messages: OrderedDict[tuple[int, str, str], Serialised] = OrderedDict()
        # The worker's sender threads share one cache.
        self._lock = threading.Lock()
        # One lock per message being built: senders claiming the first batches of a circular at
        # once build its message once, and the others wait for it rather than each build it.
        self._building: dict[tuple[int, str, str], threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def message(self, session: Session, batch: DeliveryBatch) -> Serialised:
        key = (batch.circular_id, batch.slot, batch.language)
        with self._lock:
            message = self._cached(key)
            if message is not None:
                return message
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                message = self._cached(key)
            if message is not None:
                return message
            circular = _circular(session, batch.circular_id)
            message = serialise(
                message_for(
                    circular,
                    batch.slot,
                    self.public_url,
                    version_in(circular, batch.language),
                )
            )
            with self._lock:
                self._messages[key] = message
                while len(self._messages) > self.size:
                    self._messages.popitem(last=False)
                del self._building[key]
        return message

    def _cached(self, key: tuple[int, str, str]) -> Serialised | None:
        message = self._messages.get(key)
        if message is not None:
            self._messages.move_to_end(key)
        return message


def _circular(session: Session, circular_id: int) -> Circular:
    return session.scalars(
        select(Circular)
        .where(Circular.id == circular_id)
        .options(
            selectinload(Circular.options),
            selectinload(Circular.attachments),
            selectinload(Circular.translations),
            selectinload(Circular.targets).selectinload(CircularTarget.district),
            selectinload(Circular.targets).selectinload(CircularTarget.association),
            selectinload(Circular.targets).selectinload(CircularTarget.group),
        )
    ).one()
