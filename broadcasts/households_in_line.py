"""Households, watch-over and proxy confirmation in LINE: what residents and 班長 type or tap.

Residents: 「家族を招待」 gives a one-time code to forward to a family member, who sends it to
the bot to join the household; 「世帯をぬける」 leaves it; 「見守りをやめる」 / 「見守りを受ける」
opt out of (or back in to) the watch-over list. 班長: 「代理確認」 lists recent circulars of
their 班, then its paper households still to confirm; one tap confirms one.

`handle_text` returns the reply, or None when the text is none of these words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.postbacks import ProxyCircular, ProxyHousehold, encode
from broadcasts.households import families, paper, proxy_confirmation, watch_over
from broadcasts.replies import Gettext, gettext_in, quick_label, text_message, watch_over_notice
from broadcasts.residents.registration import ensure_resident, find_resident, normalise
from broadcasts.rollout import activation
from broadcasts.staff.scope import Scope, load
from models import Circular, Group, PaperHousehold, Resident, Role, StaffMember, StaffRole

# line-bot-sdk is imported where LINE is called or a message is built: loading its models
# costs every process about 1.5 s of CPU, and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import Message, QuickReplyItem

# LINE shows at most 13 quick-reply items.
QUICK_REPLY_LIMIT = 13

_WORDS = {
    normalise(word): kind
    for kind, words in (
        ("invite", ("家族を招待", "かぞくをしょうたい", "家族招待", "invite family")),
        ("leave", ("世帯をぬける", "世帯を抜ける", "せたいをぬける", "leave household")),
        ("watch_off", ("見守りをやめる", "みまもりをやめる", "watch-over off")),
        ("watch_on", ("見守りを受ける", "みまもりをうける", "watch-over on")),
        ("proxy", ("代理確認", "だいりかくにん", "proxy")),
    )
    for word in words
}


def handle_text(
    session: Session, clock: Clock, user_id: str, text: str, language: str | None
) -> list[Message] | None:
    _ = gettext_in(language)
    code = families.CODE.typed(text)
    if code is not None:
        joining = ensure_resident(session, clock, user_id)
        status = families.join(session, clock, joining, code)
        texts = {
            "joined": _("家族の世帯に入りました。回覧の確認は世帯で数えます。"),
            "already": _("もうこの世帯に入っています。"),
            "unknown": _("このコードは見つかりませんでした。文字をもう一度たしかめてください。"),
            "expired": _("このコードは期限切れです（3日間有効）。新しいコードをもらってください。"),
            "used": _("このコードは、もう使われています。新しいコードをもらってください。"),
        }
        reply = [text_message(texts[status])]
        if status == "joined":
            reply.extend(_joined_notes(session, joining, language, _))
        return reply
    kind = _WORDS.get(normalise(text))
    if kind is None:
        return None
    if kind == "proxy":
        return _proxy_circulars(session, user_id, _)
    resident = find_resident(session, user_id)
    if resident is None or resident.association_id is None or resident.unregistered_at:
        return [text_message(_("まだ登録されていません。登録するときは「設定」と送ってください。"))]
    if kind == "invite":
        invited = families.invite(session, clock, resident)
        return [
            text_message(
                _(
                    "家族を招待するコードです。3日間、1回だけ使えます。"
                    "家族の方が、このボットを友だち追加して、次のメッセージをそのまま送ってください。"
                )
            ),
            text_message(invited.code or ""),
        ]
    if kind == "leave":
        left = families.leave(session, resident)
        return [
            text_message(
                _("世帯からぬけました。これからはおひとりで数えます。")
                if left
                else _("世帯には入っていません。")
            )
        ]
    if kind == "watch_off":
        watch_over.opt_out(session, clock, resident)
        return [
            text_message(
                _(
                    "見守りの一覧に出ないようにしました。もどすときは「見守りを受ける」と送ってください。"
                )
            )
        ]
    watch_over.opt_in(session, resident)
    return [text_message(_("見守りの一覧に出るようにしました。"))]


def _joined_notes(
    session: Session, resident: Resident, language: str | None, _: Gettext
) -> list[Message]:
    """Joining registers the resident at the family's association: what registering there
    would have told them (watch-over and how to opt out, a district still preparing)."""
    notes: list[Message] = []
    if watch_over.setting(session, resident.association_id) is not None:
        notes.append(text_message(watch_over_notice(_).strip()))
    preparing = activation.is_preparing(session, resident)
    if preparing is not None:
        notes.append(activation.preparing_note(preparing, language))
    return notes


def handle_proxy(
    session: Session,
    clock: Clock,
    user_id: str,
    postback: ProxyCircular | ProxyHousehold,
    language: str | None,
) -> list[Message]:
    _ = gettext_in(language)
    leader = _leader(session, user_id)
    if leader is None:
        return [
            text_message(
                _("このボタンは今は使えません。お手数ですが、もう一度はじめからお願いします。")
            )
        ]
    scope = load(session, leader.id)
    if isinstance(postback, ProxyCircular):
        return _households(session, scope, postback.circular_id, postback.group_id, "", _)
    try:
        proxy_confirmation.proxy_confirm(
            session, clock, scope, postback.circular_id, postback.paper_household_id
        )
    except paper.PaperError:
        return [text_message(_("この世帯の代理確認はできません。"))]
    group_id = session.get_one(PaperHousehold, postback.paper_household_id).group_id
    done = _("代理確認しました。")
    return _households(session, scope, postback.circular_id, group_id, done, _)


def _leader(session: Session, user_id: str) -> StaffMember | None:
    return session.scalars(
        select(StaffMember)
        .join(StaffRole, StaffRole.staff_member_id == StaffMember.id)
        .where(StaffMember.line_user_id == user_id, StaffRole.role == Role.group_leader)
    ).first()


def _proxy_circulars(session: Session, user_id: str, _: Gettext) -> list[Message] | None:
    member = _leader(session, user_id)
    if member is None:
        return None
    items: list[QuickReplyItem] = []
    for role in member.roles:
        if role.role is not Role.group_leader or role.group_id is None:
            continue
        group = session.get_one(Group, role.group_id)
        for circular in proxy_confirmation.recent_for_group(
            session, group.id, limit=QUICK_REPLY_LIMIT
        ):
            items.append(_item(circular.title, encode(ProxyCircular(circular.id, group.id))))
    if not items:
        return [text_message(_("代理確認できる回覧はまだありません。"))]
    return [
        text_message(
            _("どの回覧ですか？紙で受け取る世帯の確認を記録します。"), items[:QUICK_REPLY_LIMIT]
        )
    ]


def _households(
    session: Session, scope: Scope, circular_id: int, group_id: int, lead: str, _: Gettext
) -> list[Message]:
    # The postback comes from the phone: the ids may be forged, so the circular must be one
    # this 班 was sent, as proxy_confirm requires, before its title is shown.
    circular = session.get(Circular, circular_id)
    if (
        circular is None
        or circular.released_at is None
        or not scope.leads_group(session, group_id)
        or session.scalar(paper.groups_reached(circular).where(Group.id == group_id)) is None
    ):
        return [text_message(_("この世帯の代理確認はできません。"))]
    waiting = [
        s
        for s in proxy_confirmation.statuses(session, circular_id, group_id)
        if s.confirmation is None
    ]
    if not waiting:
        return [text_message((lead + "\n" if lead else "") + _("紙の世帯はすべて確認済みです。"))]
    items = [
        _item(status.name, encode(ProxyHousehold(circular_id, status.paper_household.id)))
        for status in waiting[:QUICK_REPLY_LIMIT]
    ]
    prompt = _("「{title}」を見た世帯をえらんでください（のこり{count}世帯）。").format(
        title=circular.title, count=len(waiting)
    )
    return [text_message((lead + "\n" if lead else "") + prompt, items)]


def _item(text: str, data: str) -> QuickReplyItem:
    from linebot.v3.messaging import PostbackAction, QuickReplyItem

    return QuickReplyItem(
        action=PostbackAction(label=quick_label(text), data=data, display_text=text[:300])
    )
