"""The archive in LINE: 「回覧を見る」 and 「検索」 answered with a carousel of circulars in large
type, 「前へ」「次へ」「検索」 as quick replies, each circular opening its detail page through the
resident's own signed link (the service is broadcasts/residents/archive.py).
"""

from __future__ import annotations

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexMessage,
    FlexText,
    Message,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    URIAction,
)

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
from broadcasts.residents import archive as service
from broadcasts.residents.archive import AskWord, Entry, Page
from broadcasts.residents.registration import NotRegistered
from linebot_app.chat import registration
from linebot_app.chat.context import Context
from linebot_app.chat.replies import (
    ALT_TEXT_LIMIT,
    DetailLink,
    Gettext,
    detail_links,
    gettext_in,
    menu_items,
    quick_button,
    quick_label,
    stale,
    text_message,
)
from models import Resident

# --- handlers -------------------------------------------------------------------------------------


def on_list(context: Context, _sent: object) -> list[Message]:
    """「回覧を見る」: the first page of the circulars the resident received."""
    resident = context.resident()
    if resident is None:
        return registration.worded(NotRegistered(), context.language())
    return _reply(context, resident, service.listing(context.session, resident, 0))


def on_page(context: Context, tap: ArchivePage) -> list[Message]:
    resident = _known(context)
    return _reply(context, resident, service.listing(context.session, resident, tap.page))


def on_results(context: Context, tap: ArchiveResults) -> list[Message]:
    resident = _known(context)
    return _reply(context, resident, service.results(context.session, resident, tap.page))


def on_find(context: Context, _tap: ArchiveFind) -> list[Message]:
    resident = _known(context)
    return _reply(context, resident, service.ask_word(context.session, context.clock, resident))


def use_up_prompt(context: Context, _text: str) -> None:
    """Every text from a resident past composing uses up a pending 「検索」, commands included:
    the prompt only ever applies to the very next message. Never answers."""
    waiting = service.take_prompt(context.session, context.clock, _known(context))
    context.search_word_awaited = waiting


def on_typed(context: Context, text: str) -> list[Message] | None:
    """「検索」, 「検索 ことば」, or the word 「検索」 asked for; None when it is no search."""
    resident = _known(context)
    searched = service.typed(
        context.session, context.clock, resident, text, context.search_word_awaited
    )
    return None if searched is None else _reply(context, resident, searched)


def _reply(context: Context, resident: Resident, found: Page | AskWord | None) -> list[Message]:
    return archive(found, context.language(), detail_links(resident.id))


def _known(context: Context) -> Resident:
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    return resident


# --- words ----------------------------------------------------------------------------------------


def archive(found: Page | AskWord | None, language: str | None, link: DetailLink) -> list[Message]:
    """What the bot answers to 「回覧を見る」, 「検索」 and their 「次へ」; None: a page of a
    search that is no longer there."""
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
