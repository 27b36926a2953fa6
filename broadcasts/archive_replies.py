"""The archive's messages: a carousel of circulars in large type, 「前へ」「次へ」「検索」 as quick
replies, each circular opening its detail page through the resident's own signed link.

Like broadcasts.replies: plain Japanese first, every text through gettext, line-bot-sdk's typed
models only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from broadcasts.circulars import translations
from broadcasts.core import postbacks
from broadcasts.core.clock import TOKYO
from broadcasts.core.postbacks import (
    ArchiveFind,
    ArchivePage,
    ArchiveResults,
    Confirm,
    Menu,
    Postback,
)
from broadcasts.replies import (
    ALT_TEXT_LIMIT,
    Gettext,
    gettext_in,
    menu_items,
    quick_button,
    quick_label,
    stale,
    text_message,
)
from broadcasts.residents.archive import AskWord, Entry, Page

# line-bot-sdk is imported where LINE is called or a message is built: loading its models
# costs every process about 1.5 s of CPU, and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import FlexBubble, Message, QuickReplyItem

# The resident's own link to a circular's detail page, by circular id.
DetailLink = Callable[[int], str]


def archive(found: Page | AskWord | None, language: str | None, link: DetailLink) -> list[Message]:
    """What the bot answers to 「回覧を見る」, 「検索」 and their 「次へ」; None: a page of a
    search that is no longer there."""
    from linebot.v3.messaging import FlexCarousel, FlexMessage, QuickReply

    _ = gettext_in(language)
    if found is None:
        return stale(language)
    if isinstance(found, AskWord):
        return [
            text_message(
                _("さがしたい言葉を送ってください。回覧の題名と本文からさがします。"),
                [quick_button(_("回覧を見る"), Menu("list"))],
            )
        ]
    if not found.entries:
        return [text_message(_nothing(found, _), _navigation(found, _))]
    if found.word is None:
        alt = _("届いた回覧（{page}ページ目）").format(page=found.number + 1)
    else:
        alt = _("「{query}」の回覧（{page}ページ目）").format(
            query=found.word, page=found.number + 1
        )
    carousel = FlexCarousel(contents=[_bubble(entry, link, language, _) for entry in found.entries])
    return [
        FlexMessage(
            alt_text=alt[:ALT_TEXT_LIMIT],
            contents=carousel,
            quick_reply=QuickReply(items=_navigation(found, _)),
        )
    ]


def _nothing(found: Page, _: Gettext) -> str:
    if found.number > 0:
        return _("これより前の回覧はありません。")
    if found.word is not None:
        return _("「{query}」の回覧は見つかりませんでした。").format(query=found.word)
    return _("まだ届いた回覧はありません。")


def _navigation(found: Page, _: Gettext) -> list[QuickReplyItem]:
    def page(number: int) -> Postback:
        return ArchivePage(number) if found.word is None else ArchiveResults(number)

    items: list[QuickReplyItem] = []
    if found.has_next:
        items.append(quick_button(_("次へ"), page(found.number + 1)))
    if found.number > 0:
        items.append(quick_button(_("前へ"), page(found.number - 1)))
    items.append(quick_button(_("検索"), ArchiveFind()))
    if found.word is not None:
        items.append(quick_button(_("回覧を見る"), Menu("list")))
    return items + menu_items(_)[1:]


def _bubble(entry: Entry, link: DetailLink, language: str | None, _: Gettext) -> FlexBubble:
    """Large type for older eyes: the title at xl, the rest at md; the title in the version the
    resident's card and detail page show them."""
    from linebot.v3.messaging import (
        FlexBox,
        FlexBubble,
        FlexButton,
        FlexText,
        PostbackAction,
        URIAction,
    )

    circular = entry.circular
    title = translations.for_reader(circular, language).title
    status = (
        FlexText(text=_("確認済み"), size="md", color="#555555")
        if entry.confirmed
        else FlexText(text=_("未確認"), size="md", weight="bold", color="#B71C1C")
    )
    contents = [status, FlexText(text=title, weight="bold", size="xl", wrap=True)]
    if circular.released_at is not None:
        day = circular.released_at.astimezone(TOKYO)
        contents.append(
            FlexText(
                text=_("{month}月{day}日").format(month=day.month, day=day.day),
                size="md",
                color="#555555",
            )
        )
    buttons = [
        FlexButton(
            action=URIAction(label=quick_label(_("詳しく見る")), uri=link(circular.id)),
            style="secondary",
        )
    ]
    if circular.confirmation_required and not entry.confirmed:
        buttons.insert(
            0,
            FlexButton(
                action=PostbackAction(
                    label=_("確認しました"),
                    data=postbacks.encode(Confirm(circular.id)),
                    display_text=_("確認しました"),
                ),
                style="primary",
            ),
        )
    return FlexBubble(
        body=FlexBox(layout="vertical", spacing="sm", contents=contents),
        footer=FlexBox(layout="vertical", spacing="sm", contents=buttons),
    )
