"""Reply messages for residents, built from what a service returned, in the resident's language.

Plain, friendly Japanese first (an 80-year-old should read it without effort): short sentences,
hiragana for harder words, one thing per message. Every text goes through gettext; the English
catalogue is in broadcasts/core/locales. Messages use line-bot-sdk's typed models, so a message the
SDK would refuse never leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from broadcasts.core import postbacks
from broadcasts.core.clock import TOKYO
from broadcasts.core.i18n import locale_for, translations
from broadcasts.core.postbacks import (
    AssociationPage,
    ChooseAssociation,
    ChooseDistrict,
    ChooseGroup,
    DistrictPage,
    GroupPage,
    Menu,
    Postback,
    RegistrationControl,
    Unregister,
)
from broadcasts.residents.acknowledgements import AnswerResult, ConfirmResult
from broadcasts.residents.registration import (
    AskConfirmation,
    AskUnregister,
    Cancelled,
    Choose,
    Nothing,
    NotRegistered,
    Outcome,
    Registered,
    Registration,
    Stale,
    Unregistered,
    WelcomeBack,
)
from broadcasts.staff.invites import Redeemed
from models import Role

# line-bot-sdk is imported where LINE is called or a message is built: loading its models
# costs every process about 1.5 s of CPU, and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import FlexMessage, Message, QuickReplyItem, TextMessage

# LINE's limits: quick-reply and action labels 20 characters; altText kept under 400.
LABEL_LIMIT = 20
ALT_TEXT_LIMIT = 400

Gettext = Callable[[str], str]


def gettext_in(language: str | None) -> Gettext:
    return translations(locale_for(language)).gettext


def quick_label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def quick_button(label: str, postback: Postback) -> QuickReplyItem:
    from linebot.v3.messaging import PostbackAction, QuickReplyItem

    return QuickReplyItem(
        action=PostbackAction(
            label=quick_label(label), data=postbacks.encode(postback), display_text=label[:300]
        )
    )


def menu_items(_: Gettext) -> list[QuickReplyItem]:
    return [
        quick_button(_("回覧を見る"), Menu("list")),
        quick_button(_("設定"), Menu("settings")),
        quick_button(_("ヘルプ"), Menu("help")),
    ]


def text_message(text: str, items: Sequence[QuickReplyItem] = ()) -> TextMessage:
    from linebot.v3.messaging import QuickReply, TextMessage

    quick_reply = QuickReply(items=list(items)) if items else None
    return TextMessage(text=text, quick_reply=quick_reply)


# --- help and the unexpected --------------------------------------------------------------------


def help_message(language: str | None) -> list[Message]:
    _ = gettext_in(language)
    return [
        text_message(
            _(
                "回覧板のLINEです。下のボタンか、メニューからえらんでください。\n"
                "・回覧を見る：届いた回覧を見ます\n"
                "・設定：校区や自治会を登録・変更します\n"
                "・検索 ことば：届いた回覧をことばでさがします\n"
                "・家族を招待：家族を同じ世帯に入れます（世帯をぬける：ぬけます）\n"
                "・登録解除：登録をやめます\n"
                "わからないときは、自治会の役員さんにお聞きください。"
            ),
            menu_items(_),
        )
    ]


def stale(language: str | None) -> list[Message]:
    _ = gettext_in(language)
    return [
        text_message(
            _("このボタンは今は使えません。お手数ですが、もう一度はじめからお願いします。"),
            menu_items(_),
        )
    ]


# --- registration -------------------------------------------------------------------------------


def registration(outcome: Outcome, language: str | None) -> list[Message]:
    _ = gettext_in(language)
    match outcome:
        case Choose():
            return [_choose(outcome, _)]
        case AskConfirmation(chosen):
            return [
                text_message(
                    _("この内容で登録します。よろしいですか？") + "\n" + _describe(chosen, _),
                    [
                        quick_button(_("はい"), RegistrationControl("ok")),
                        quick_button(_("やり直す"), RegistrationControl("redo")),
                        quick_button(_("やめる"), RegistrationControl("cancel")),
                    ],
                )
            ]
        case Registered(chosen, watched):
            return [
                text_message(
                    _("登録しました。これから回覧をLINEでお届けします。")
                    + "\n"
                    + _describe(chosen, _)
                    + "\n"
                    + _("変えるときは「設定」と送ってください。")
                    + (watch_over_notice(_) if watched else ""),
                    [*menu_items(_), _family_item(_)],
                )
            ]
        case WelcomeBack(kept):
            return [
                text_message(
                    _("おかえりなさい。登録はそのままです。また回覧をお届けします。")
                    + "\n"
                    + _describe(kept, _),
                    menu_items(_),
                )
            ]
        case Cancelled(kept):
            if kept is None:
                text = _("やめました。登録するときは「設定」と送ってください。")
            else:
                text = _("やめました。登録は前のままです。") + "\n" + _describe(kept, _)
            return [text_message(text, menu_items(_))]
        case AskUnregister(kept):
            return [
                text_message(
                    _describe(kept, _)
                    + "\n"
                    + _(
                        "登録を解除すると、回覧が届かなくなり、お名前などの情報も消します。"
                        "解除しますか？"
                    ),
                    [
                        quick_button(_("解除する"), Unregister(confirmed=True)),
                        quick_button(_("やめる"), Unregister(confirmed=False)),
                    ],
                )
            ]
        case Unregistered():
            return [
                text_message(
                    _(
                        "登録を解除しました。ご利用ありがとうございました。\n"
                        "また使うときは「設定」と送ってください。"
                    )
                )
            ]
        case NotRegistered():
            return [
                text_message(
                    _("まだ登録されていません。登録するときは「設定」と送ってください。"),
                    menu_items(_),
                )
            ]
        case Stale():
            return stale(language)
        case Nothing():
            return help_message(language)


def _family_item(_: Gettext) -> QuickReplyItem:
    """Sends 「家族を招待」 as the resident's own words (broadcasts.households_in_line)."""
    from linebot.v3.messaging import MessageAction, QuickReplyItem

    label = quick_label(_("家族を招待"))
    return QuickReplyItem(action=MessageAction(label=label, text="家族を招待"))


def watch_over_notice(_: Gettext) -> str:
    return "\n" + _(
        "この自治会では見守りをしています。回覧の確認がしばらくないと、班長さんが見る一覧に名前が出ます。"
        "いやなときは「見守りをやめる」と送ってください。"
    )


def _describe(chosen: Registration, _: Gettext) -> str:
    lines = [_("校区：{name}").format(name=chosen.district)]
    lines.append(_("自治会：{name}").format(name=chosen.association))
    if chosen.group:
        lines.append(_("班：{name}").format(name=chosen.group))
    return "\n".join(lines)


def _choose(choose: Choose, _: Gettext) -> TextMessage:
    lines: list[str] = []
    if choose.greeting:
        lines.append(_("友だち追加ありがとうございます。回覧板をLINEでお届けします。"))
    if choose.not_found:
        lines.append(_("「{query}」は見つかりませんでした。").format(query=choose.query))
    elif choose.truncated:
        lines.append(
            _("「{query}」でたくさん見つかりました。もう少しくわしく送ってください。").format(
                query=choose.query
            )
        )
    elif choose.query:
        lines.append(_("「{query}」で見つかったものです。").format(query=choose.query))
    prompts = {
        "district": _("お住まいの校区（小学校区）をえらんでください。"),
        "association": _("お住まいの自治会（町内会）をえらんでください。"),
        "group": _("班（組）をえらんでください。"),
    }
    lines.append(prompts[choose.kind])
    if choose.page_count > 1:
        lines.append(
            _("（{page}/{count}ページ）").format(page=choose.page + 1, count=choose.page_count)
        )
    if choose.kind != "group":
        # A 班 list is short and numbered (1班, 2班): nothing there to search by name.
        lines.append(_("名前の一部を送ると、さがせます（ひらがなでも大丈夫です）。"))
    items = [quick_button(option.name, _choice(choose, option.id)) for option in choose.options]
    if choose.page > 0:
        items.append(quick_button(_("前へ"), _page(choose, choose.page - 1)))
    if choose.page + 1 < choose.page_count:
        items.append(quick_button(_("次へ"), _page(choose, choose.page + 1)))
    items.append(quick_button(_("やめる"), RegistrationControl("cancel")))
    return text_message("\n".join(lines), items)


def _choice(choose: Choose, area_id: int) -> Postback:
    if choose.kind == "district":
        return ChooseDistrict(area_id)
    if choose.kind == "association":
        return ChooseAssociation(area_id)
    return ChooseGroup(area_id)


def _page(choose: Choose, page: int) -> Postback:
    if choose.kind == "district":
        return DistrictPage(page)
    assert choose.parent_id is not None  # noqa: S101 - association and group lists have one
    if choose.kind == "association":
        return AssociationPage(choose.parent_id, page)
    return GroupPage(choose.parent_id, page)


# --- circulars ----------------------------------------------------------------------------------


def confirmation(result: ConfirmResult, language: str | None) -> list[Message]:
    _ = gettext_in(language)
    texts = {
        "confirmed": _("確認しました。ありがとうございます。"),
        "already": _("この回覧は、もう確認済みです。ありがとうございます。"),
        "unknown": _("この回覧は見つかりませんでした。お手数ですが、もう一度お試しください。"),
    }
    return [text_message(texts[result])]


def answer(result: AnswerResult, language: str | None) -> list[Message]:
    _ = gettext_in(language)
    if result.status == "recorded" and result.safety_check:
        text = _(
            "「{label}」で受け付けました。ようすが変わったら、もう一度ボタンを押してください。"
            "命にかかわるときは、すぐに119番に電話してください。"
        ).format(label=result.label)
    elif result.status == "recorded" and result.deadline:
        text = _("「{label}」で受け付けました。しめきりまでは変えられます。").format(
            label=result.label
        )
    elif result.status == "recorded":
        text = _("「{label}」で受け付けました。答えは、あとから変えられます。").format(
            label=result.label
        )
    elif result.status == "closed":
        text = _("この回覧の回答は締め切りました。ありがとうございました。")
    else:
        text = _("この回覧は見つかりませんでした。お手数ですが、もう一度お試しください。")
    return [text_message(text)]


def details(text: str | None, language: str | None, link: str | None = None) -> list[Message]:
    """「詳しく見る」: the resident's own link to the detail page (photos, PDFs, the confirm
    button; opening it counts as read), then the text itself, cut to LINE's limit if need be."""
    from linebot.v3.messaging import (
        FlexBox,
        FlexBubble,
        FlexButton,
        FlexMessage,
        FlexText,
        URIAction,
    )

    if text is None:
        return confirmation("unknown", language)
    if link is None:
        return [text_message(text)]
    _ = gettext_in(language)
    invitation = _("写真や添付ファイル、長い本文は、こちらのページで見られます。")
    bubble = FlexBubble(
        body=FlexBox(
            layout="vertical",
            contents=[FlexText(text=invitation, wrap=True, size="md")],
        ),
        footer=FlexBox(
            layout="vertical",
            contents=[
                FlexButton(
                    style="primary",
                    action=URIAction(label=quick_label(_("回覧のページを開く")), uri=link),
                )
            ],
        ),
    )
    return [FlexMessage(alt_text=invitation, contents=bubble), text_message(text)]


# --- staff --------------------------------------------------------------------------------------


def staff(result: Redeemed, language: str | None) -> list[Message]:
    from linebot.v3.messaging import MessageAction, QuickReplyItem

    _ = gettext_in(language)
    roles = {
        Role.admin: _("管理者"),
        Role.promoter: _("ICT推進員"),
        Role.officer: _("自治会役員"),
        Role.group_leader: _("班長"),
    }
    role = roles[result.role] if result.role else ""
    area = f"（{result.area}）" if result.area else ""
    texts = {
        "linked": _("{role}{area}として登録しました。管理画面が使えます。"),
        "already": _("{role}{area}の役割は、もうお持ちです。"),
        "unknown": _("このコードは見つかりませんでした。文字をもう一度たしかめてください。"),
        "expired": _("このコードは期限切れです（7日間有効）。新しいコードをもらってください。"),
        "used": _("このコードは、もう使われています。新しいコードをもらってください。"),
    }
    reply = [text_message(texts[result.status].format(role=role, area=area))]
    if result.role is Role.group_leader and result.status in ("linked", "already"):
        # The LINE way to proxy-confirm is a typed word: without this a 班長 never learns it.
        label = quick_label(_("代理確認"))
        item = QuickReplyItem(action=MessageAction(label=label, text="代理確認"))
        reply.append(
            text_message(
                _(
                    "紙で回覧を受け取る世帯の確認は、このLINEでも記録できます。"
                    "「代理確認」と送るか、下のボタンを押してください。"
                ),
                [item],
            )
        )
    return reply


def login_link(url: str, expires_at: datetime, language: str | None) -> list[Message]:
    """A staff member's single-use dashboard link, as a button."""
    from linebot.v3.messaging import (
        FlexBox,
        FlexBubble,
        FlexButton,
        FlexMessage,
        FlexText,
        URIAction,
    )

    _ = gettext_in(language)
    until = expires_at.astimezone(TOKYO).strftime("%H:%M")
    text = _(
        "管理画面のログイン用リンクです。{time}まで、1回だけ使えます。ほかの人に渡さないでください。"
    ).format(time=until)
    bubble = FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text=text, wrap=True, size="md")]),
        footer=FlexBox(
            layout="vertical",
            contents=[
                FlexButton(
                    style="primary",
                    action=URIAction(label=quick_label(_("管理画面を開く")), uri=url),
                )
            ],
        ),
    )
    return [FlexMessage(alt_text=text[:ALT_TEXT_LIMIT], contents=bubble)]


# --- the bot's language (「設定」) ------------------------------------------------------------

# Each choice in its own language: a reader finds theirs whatever the bot speaks now.
LANGUAGE_NAMES: dict[postbacks.LanguageChoice, str] = {
    "ja": "日本語",
    "easy": "やさしい日本語",
    "en": "English",
}


def language_choice(language: str | None) -> FlexMessage:
    """The language chooser 「設定」 shows before the registration steps."""
    from linebot.v3.messaging import (
        FlexBox,
        FlexBubble,
        FlexButton,
        FlexMessage,
        FlexText,
        PostbackAction,
    )

    _ = gettext_in(language)
    text = _("ことばをえらべます。")
    bubble = FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text=text, wrap=True, size="md")]),
        footer=FlexBox(
            layout="vertical",
            spacing="sm",
            contents=[
                FlexButton(
                    style="secondary",
                    action=PostbackAction(
                        label=name,
                        data=postbacks.encode(postbacks.ChooseLanguage(choice)),
                        display_text=name,
                    ),
                )
                for choice, name in LANGUAGE_NAMES.items()
            ],
        ),
    )
    return FlexMessage(alt_text=text, contents=bubble)


def language_chosen(locale: str) -> list[Message]:
    """The answer to a choice, already in the chosen language."""
    _ = gettext_in(locale)
    return [text_message(_("これから、このことばでお知らせします。"), menu_items(_))]
