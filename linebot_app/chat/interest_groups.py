"""Interest groups in LINE: a resident sends a group's code 「NAKAMA-…」 to join it, and
「グループ退会」 to pick one of their groups to leave (a quick reply, one tap)."""

from __future__ import annotations

from linebot.v3.messaging import Message

from broadcasts.core.postbacks import LeaveInterest
from broadcasts.interest_groups import members
from broadcasts.residents import registration
from linebot_app.chat.context import Context
from linebot_app.chat.replies import gettext_in, quick_button, text_message

# LINE shows at most 13 quick-reply items.
QUICK_REPLY_LIMIT = 13

LEAVE = ("グループ退会", "ぐるーぷたいかい", "グループをぬける", "leave group")


def on_code(context: Context, body: str) -> list[Message]:
    _ = gettext_in(context.language())
    outcome = members.join(context.session, context.clock, context.user_id, body)
    match outcome:
        case members.Joined(name, already=True):
            return [text_message(_("もう「{name}」に入っています。").format(name=name))]
        case members.Joined(name):
            return [
                text_message(
                    _(
                        "「{name}」に入りました。このグループあての回覧も届きます。"
                        "ぬけるときは「グループ退会」と送ってください。"
                    ).format(name=name)
                )
            ]
        case members.NotRegistered():
            return [
                text_message(
                    _("グループに入るには、先に登録してください。「設定」と送ると始まります。")
                )
            ]
        case members.WrongCode(locked=True):
            return [text_message(_("まちがいが続いたため、今日はコードを受け付けられません。"))]
    return [text_message(_("このコードは見つかりませんでした。文字をもう一度たしかめてください。"))]


def on_leave(context: Context, _text: str) -> list[Message]:
    """「グループ退会」: the resident's groups as buttons, one tap each."""
    _ = gettext_in(context.language())
    resident = context.resident()
    groups = members.groups_of(context.session, resident) if resident is not None else []
    if not groups:
        return [text_message(_("参加しているグループはありません。"))]
    items = [
        quick_button(group.name, LeaveInterest(group.id)) for group in groups[:QUICK_REPLY_LIMIT]
    ]
    return [text_message(_("どのグループをぬけますか？"), items)]


def on_leave_tap(context: Context, tapped: LeaveInterest) -> list[Message]:
    _ = gettext_in(context.language())
    resident = context.resident()
    name = (
        members.leave(context.session, resident, tapped.interest_group_id)
        if resident is not None and registration.is_registered(resident)
        else None
    )
    if name is None:
        return [text_message(_("このグループには入っていません。"))]
    return [text_message(_("「{name}」をぬけました。").format(name=name))]
