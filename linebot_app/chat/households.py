"""Households, watch-over and proxy confirmation in LINE: what residents and 班長 type or tap.

Residents: 「家族を招待」 gives a one-time code to forward to a family member, who sends it to
the bot to join the household; 「世帯をぬける」 leaves it; 「見守りをやめる」 / 「見守りを受ける」
opt out of (or back in to) the watch-over list. 班長: 「代理確認」 lists recent circulars of
their 班, then its paper households still to confirm; one tap confirms one.
"""

from __future__ import annotations

from linebot.v3.messaging import Message, PostbackAction, QuickReplyItem

from broadcasts.core.postbacks import ProxyCircular, ProxyHousehold, encode
from broadcasts.households import families, leaders, paper, watch_over
from broadcasts.households.leaders import Waiting
from broadcasts.residents import registration
from broadcasts.rollout import activation
from linebot_app.chat.context import Context
from linebot_app.chat.registration import (
    preparing_note,
    privacy_notice,
    record_consent,
    watch_over_notice,
)
from linebot_app.chat.replies import Gettext, gettext_in, quick_label, text_message
from models import Resident

# LINE shows at most 13 quick-reply items.
QUICK_REPLY_LIMIT = 13

INVITE = ("家族を招待", "かぞくをしょうたい", "家族招待", "invite family")
LEAVE = ("世帯をぬける", "世帯を抜ける", "せたいをぬける", "leave household")
WATCH_OFF = ("見守りをやめる", "みまもりをやめる", "watch-over off")
WATCH_ON = ("見守りを受ける", "みまもりをうける", "watch-over on")
PROXY = ("代理確認", "だいりかくにん", "proxy")


# --- families -------------------------------------------------------------------------------------


def on_family_code(context: Context, code: str) -> list[Message]:
    """A family's invite code (「KAZOKU-…」), sent by the family member who got it."""
    language = context.language()  # before joining makes them a resident
    _ = gettext_in(language)
    joining = registration.ensure_resident(context.session, context.clock, context.user_id)
    status = families.join(context.session, context.clock, joining, code)
    texts = {
        "joined": _("家族の世帯に入りました。回覧の確認は世帯で数えます。"),
        "already": _("もうこの世帯に入っています。"),
        "unknown": _("このコードは見つかりませんでした。文字をもう一度たしかめてください。"),
        "expired": _("このコードは期限切れです（3日間有効）。新しいコードをもらってください。"),
        "used": _("このコードは、もう使われています。新しいコードをもらってください。"),
    }
    if status != "joined":
        return [text_message(texts[status])]
    # Joining registers: the notice of what is kept comes with it.
    record_consent(context)
    reply: list[Message] = [text_message(texts[status] + "\n\n" + privacy_notice(_))]
    reply.extend(_joined_notes(context, joining, language, _))
    return reply


def _joined_notes(
    context: Context, resident: Resident, language: str | None, _: Gettext
) -> list[Message]:
    """Joining registers the resident at the family's association: what registering there
    would have told them (watch-over and how to opt out, a district still preparing)."""
    notes: list[Message] = []
    if watch_over.setting(context.session, resident.association_id) is not None:
        notes.append(text_message(watch_over_notice(_).strip()))
    preparing = activation.is_preparing(context.session, resident)
    if preparing is not None:
        notes.append(preparing_note(preparing, language))
    return notes


def on_invite(context: Context, _text: str) -> list[Message]:
    """「家族を招待」: the code to forward, in a message of its own (easy to pass on)."""
    _ = gettext_in(context.language())
    resident = _registered(context)
    if resident is None:
        return _not_registered(_)
    invited = families.invite(context.session, context.clock, resident)
    return [
        text_message(
            _(
                "家族を招待するコードです。3日間、1回だけ使えます。"
                "家族の方が、このボットを友だち追加して、次のメッセージをそのまま送ってください。"
            )
        ),
        text_message(invited.code or ""),
    ]


def on_leave(context: Context, _text: str) -> list[Message]:
    _ = gettext_in(context.language())
    resident = _registered(context)
    if resident is None:
        return _not_registered(_)
    left = families.leave(context.session, resident)
    return [
        text_message(
            _("世帯からぬけました。これからはおひとりで数えます。")
            if left
            else _("世帯には入っていません。")
        )
    ]


def on_watch_off(context: Context, _text: str) -> list[Message]:
    _ = gettext_in(context.language())
    resident = _registered(context)
    if resident is None:
        return _not_registered(_)
    watch_over.opt_out(context.session, context.clock, resident)
    return [
        text_message(
            _(
                "見守りの一覧に出ないようにしました。もどすときは「見守りを受ける」と送ってください。"
            )
        )
    ]


def on_watch_on(context: Context, _text: str) -> list[Message]:
    _ = gettext_in(context.language())
    resident = _registered(context)
    if resident is None:
        return _not_registered(_)
    watch_over.opt_in(context.session, resident)
    return [text_message(_("見守りの一覧に出るようにしました。"))]


def _registered(context: Context) -> Resident | None:
    resident = context.resident()
    return resident if resident is not None and registration.is_registered(resident) else None


def _not_registered(_: Gettext) -> list[Message]:
    return [text_message(_("まだ登録されていません。登録するときは「設定」と送ってください。"))]


# --- proxy confirmation (班長) ----------------------------------------------------------------


def on_proxy(context: Context, _text: str) -> list[Message] | None:
    """「代理確認」: the recent circulars of the 班長's 班; None (not theirs to answer) for
    anyone who leads no 班."""
    leader = leaders.group_leader(context.session, context.user_id, context.clock.now())
    if leader is None:
        return None
    _ = gettext_in(context.language())
    items = [
        _item(circular.title, encode(ProxyCircular(circular.id, group_id)))
        for circular, group_id in leaders.circulars_to_confirm(
            context.session, leader, QUICK_REPLY_LIMIT
        )
    ]
    if not items:
        return [text_message(_("代理確認できる回覧はまだありません。"))]
    return [
        text_message(
            _("どの回覧ですか？紙で受け取る世帯の確認を記録します。"), items[:QUICK_REPLY_LIMIT]
        )
    ]


def on_proxy_tap(context: Context, tap: ProxyCircular | ProxyHousehold) -> list[Message]:
    """A circular chosen (its households still to confirm), or a household confirmed."""
    _ = gettext_in(context.language())
    leader = leaders.group_leader(context.session, context.user_id, context.clock.now())
    if leader is None:
        return [
            text_message(
                _("このボタンは今は使えません。お手数ですが、もう一度はじめからお願いします。")
            )
        ]
    if isinstance(tap, ProxyCircular):
        found = leaders.waiting(
            context.session, context.clock.now(), leader, tap.circular_id, tap.group_id
        )
        return _households(found, "", _)
    try:
        found = leaders.confirm(
            context.session, context.clock, leader, tap.circular_id, tap.paper_household_id
        )
    except paper.PaperError:
        return [text_message(_("この世帯の代理確認はできません。"))]
    return _households(found, _("代理確認しました。"), _)


def _households(found: Waiting | None, lead: str, _: Gettext) -> list[Message]:
    if found is None:
        return [text_message(_("この世帯の代理確認はできません。"))]
    first = lead + "\n" if lead else ""
    if not found.households:
        return [text_message(first + _("紙の世帯はすべて確認済みです。"))]
    items = [
        _item(status.name, encode(ProxyHousehold(found.circular.id, status.paper_household.id)))
        for status in found.households[:QUICK_REPLY_LIMIT]
    ]
    prompt = _("「{title}」を見た世帯をえらんでください（のこり{count}世帯）。").format(
        title=found.circular.title, count=len(found.households)
    )
    return [text_message(first + prompt, items)]


def _item(text: str, data: str) -> QuickReplyItem:
    return QuickReplyItem(
        action=PostbackAction(label=quick_label(text), data=data, display_text=text[:300])
    )
