"""Interest groups in LINE: a resident sends a group's code 「NAKAMA-…」 to join it, and
「グループ退会」 to pick one of their groups to leave (a quick reply, one tap). Staff send
「グループ招待」, pick a group, and get an invitation with its code to forward."""

from __future__ import annotations

from linebot.v3.messaging import Message

from broadcasts.core.postbacks import InviteInterest, LeaveInterest
from broadcasts.interest_groups import groups, members
from broadcasts.residents import registration
from broadcasts.staff import logins
from broadcasts.staff.scope import Scope, load
from linebot_app.chat.context import Context
from linebot_app.chat.replies import gettext_in, quick_button, text_message
from models import InterestGroup

# LINE shows at most 13 quick-reply items.
QUICK_REPLY_LIMIT = 13

LEAVE = ("グループ退会", "ぐるーぷたいかい", "グループをぬける", "leave group")
INVITE = ("グループ招待", "ぐるーぷしょうたい", "invite to group")


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
    joined = members.groups_of(context.session, resident) if resident is not None else []
    if not joined:
        return [text_message(_("参加しているグループはありません。"))]
    items = [
        quick_button(group.name, LeaveInterest(group.id)) for group in joined[:QUICK_REPLY_LIMIT]
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


# --- staff: an invitation to forward ------------------------------------------------------------


def _scope(context: Context) -> Scope | None:
    member = logins.staff_with_roles(context.session, context.user_id, context.clock.now())
    return None if member is None else load(context.session, member.id, context.clock.now())


def on_invite(context: Context, _text: str) -> list[Message] | None:
    """「グループ招待」: the groups the staff member manages, as buttons; None (not theirs to
    answer: help follows) for anyone who manages none."""
    scope = _scope(context)
    found = groups.managed(context.session, scope) if scope is not None else []
    if not found:
        return None
    _ = gettext_in(context.language())
    items = [quick_button(g.name, InviteInterest(g.id)) for g in found[:QUICK_REPLY_LIMIT]]
    return [text_message(_("どのグループに招待しますか？"), items)]


def on_invite_tap(context: Context, tapped: InviteInterest) -> list[Message] | None:
    """The invitation, in Japanese like the paper flyers, and its code alone, which the
    invited resident forwards to the bot. None (a stale or forged tap) unless the staff member
    manages the group."""
    scope = _scope(context)
    group = context.session.get(InterestGroup, tapped.interest_group_id)
    if (
        scope is None
        or group is None
        or not groups.may_manage_in(context.session, scope, groups.area_of(group))
    ):
        return None
    _ = gettext_in(context.language())
    return [
        text_message(_("次の2つのメッセージを、招待したい人にLINEで転送してください。")),
        text_message(
            f"「{group.name}」へのおさそいです。"
            "次のコードを回覧板のLINEに送ると、このグループに入れます。"
        ),
        text_message(groups.printed(group.join_code)),
    ]
