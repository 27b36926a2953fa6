"""The chat's shared words and short answers: help, a stale button, a circular confirmed,
answered or read whole, a staff member's invite code and dashboard link.

Plain, friendly Japanese first (an 80-year-old should read it without effort): short sentences,
hiragana for harder words, one thing per message. Every text goes through gettext; the
catalogues are the residents' (broadcasts/core/locales, docs/i18n.md). Messages use
line-bot-sdk's typed models, so a message the SDK would refuse never leaves the chat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    Message,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
    URIAction,
)

from broadcasts.core import postbacks
from broadcasts.core.clock import TOKYO
from broadcasts.core.i18n import locale_for, translations
from broadcasts.core.postbacks import Answer, Confirm, Details, Menu, Postback
from broadcasts.residents import acknowledgements, links
from broadcasts.residents.acknowledgements import AnswerResult, ConfirmResult
from broadcasts.staff import invites, logins
from broadcasts.staff.invites import Redeemed
from linebot_app.chat.context import Context
from linebot_app.dashboard.links import login_url
from linebot_app.extensions import settings
from models import Role

# LINE's limits: quick-reply and action labels 20 characters; altText kept under 400.
LABEL_LIMIT = 20
ALT_TEXT_LIMIT = 400

Gettext = Callable[[str], str]
# The resident's own link to a circular's detail page, by circular id.
DetailLink = Callable[[int], str]


def gettext_in(language: str | None) -> Gettext:
    return translations(locale_for(language)).gettext


def quick_label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def quick_button(label: str, postback: Postback) -> QuickReplyItem:
    return QuickReplyItem(
        action=PostbackAction(
            label=quick_label(label), data=postbacks.encode(postback), display_text=label[:300]
        )
    )


def typed_button(label: str, words: str) -> QuickReplyItem:
    """A quick reply that sends `words` as the person's own message (a word the routes know)."""
    return QuickReplyItem(action=MessageAction(label=quick_label(label), text=words))


def menu_items(_: Gettext) -> list[QuickReplyItem]:
    return [
        quick_button(_("回覧を見る"), Menu("list")),
        quick_button(_("設定"), Menu("settings")),
        quick_button(_("ヘルプ"), Menu("help")),
    ]


def text_message(text: str, items: Sequence[QuickReplyItem] = ()) -> TextMessage:
    quick_reply = QuickReply(items=list(items)) if items else None
    return TextMessage(text=text, quick_reply=quick_reply)


def detail_link(circular_id: int, resident_id: int) -> str:
    """This resident's own signed link to the circular's page (the card, multicast, has none)."""
    configured = settings()
    token = links.detail_token(configured.SECRET_KEY.get_secret_value(), circular_id, resident_id)
    return links.detail_url(configured.KAIRAN_PUBLIC_URL, token)


def detail_links(resident_id: int) -> DetailLink:
    return lambda circular_id: detail_link(circular_id, resident_id)


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
                "・自治会へ：自治会の役員にメッセージを送ります\n"
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


def on_help(context: Context, _sent: object) -> list[Message]:
    return help_message(context.language())


def on_stale(context: Context, _sent: object) -> list[Message]:
    """A tap that is forged, from an old version, or not meant for this person: no change."""
    return stale(context.language())


# --- circulars ----------------------------------------------------------------------------------


def on_confirm(context: Context, tap: Confirm) -> list[Message]:
    language = context.language()
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    result = acknowledgements.confirm(context.session, context.clock, resident, tap.circular_id)
    return confirmation(result, language)


def on_answer(context: Context, tap: Answer) -> list[Message]:
    language = context.language()
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    answered = acknowledgements.answer(
        context.session, context.clock, resident, tap.circular_id, tap.position
    )
    return answer(answered, language)


def on_details(context: Context, tap: Details) -> list[Message]:
    language = context.language()
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    text = acknowledgements.read_whole(context.session, context.clock, resident, tap.circular_id)
    return details(text, language, detail_link(tap.circular_id, resident.id))


def on_unknown_circular(context: Context, _tap: object) -> list[Message]:
    """A circular's button from someone Kairan does not know (any more)."""
    return confirmation("unknown", context.language())


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
    if text is None:
        return confirmation("unknown", language)
    if link is None:
        return [text_message(text)]
    _ = gettext_in(language)
    invitation = _("写真や添付ファイル、長い本文は、こちらのページで見られます。")
    return [link_card(invitation, _("回覧のページを開く"), link), text_message(text)]


def link_card(text: str, label: str, uri: str) -> FlexMessage:
    """A few words and one button that opens `uri`."""
    bubble = FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text=text, wrap=True, size="md")]),
        footer=FlexBox(
            layout="vertical",
            contents=[
                FlexButton(style="primary", action=URIAction(label=quick_label(label), uri=uri))
            ],
        ),
    )
    return FlexMessage(alt_text=text[:ALT_TEXT_LIMIT], contents=bubble)


# --- staff --------------------------------------------------------------------------------------


def on_invite_code(context: Context, code: str) -> list[Message]:
    """A staff invite code (「KAIRAN-…」), right or wrong."""
    language = context.language()
    resident = context.resident()
    name = resident.display_name if resident else None
    redeemed = invites.redeem(context.session, context.clock, context.user_id, code, name)
    return staff(redeemed, language)


def on_login(context: Context, _sent: object) -> list[Message]:
    """「ログイン」: a staff member gets a single-use dashboard link; anyone else the usual help."""
    language = context.language()
    member = logins.staff_with_roles(context.session, context.user_id, context.clock.now())
    if member is None:
        return help_message(language)
    issued = logins.issue(context.session, context.clock, member)
    url = login_url(settings().KAIRAN_PUBLIC_URL, issued.token)
    return login_link(url, issued.expires_at, language)


def staff(result: Redeemed, language: str | None) -> list[Message]:
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
        reply.append(
            text_message(
                _(
                    "紙で回覧を受け取る世帯の確認は、このLINEでも記録できます。"
                    "「代理確認」と送るか、下のボタンを押してください。"
                ),
                [typed_button(_("代理確認"), "代理確認")],
            )
        )
    return reply


def login_link(url: str, expires_at: datetime, language: str | None) -> list[Message]:
    """A staff member's single-use dashboard link, as a button."""
    _ = gettext_in(language)
    until = expires_at.astimezone(TOKYO).strftime("%H:%M")
    text = _(
        "管理画面のログイン用リンクです。{time}まで、1回だけ使えます。ほかの人に渡さないでください。"
    ).format(time=until)
    return [link_card(text, _("管理画面を開く"), url)]
