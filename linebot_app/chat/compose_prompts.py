"""What each step of composing a circular in LINE asks, with its buttons: the paged list of
areas to send to (only the author's own scope), the date pickers, and the preview — the exact
card, how many it reaches, the month's remaining quota — with 送信, 予約 and 取消.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from linebot.v3.messaging import (
    DatetimePickerAction,
    FlexMessage,
    Message,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle, targeting
from broadcasts.circulars.targeting import Target, reach
from broadcasts.core import postbacks
from broadcasts.core.clock import TOKYO, Clock
from broadcasts.core.postbacks import ComposeBrowse, ComposeControl, ComposeToggle, ComposeWord
from broadcasts.delivery.messages import area_label
from broadcasts.staff.scope import Scope
from linebot_app.chat.context import Edge
from linebot_app.chat.replies import Gettext, quick_button, quick_label, text_message
from models import ComposeSession, ComposeStep, StaffMember

PAGE_SIZE = 8  # + whole area, previous, next, back, done: LINE's 13 quick replies


def picker(label: str, word: ComposeWord, mode: str, clock: Clock) -> QuickReplyItem:
    now = clock.now().astimezone(TOKYO)
    if mode == "date":
        initial, earliest = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d")
    else:
        soon = (now + timedelta(hours=1)).replace(minute=0)
        initial, earliest = soon.strftime("%Y-%m-%dT%H:%M"), now.strftime("%Y-%m-%dT%H:%M")
    return QuickReplyItem(
        action=DatetimePickerAction(
            label=quick_label(label),
            data=postbacks.encode(ComposeControl(word)),
            mode=mode,
            initial=initial,
            min=earliest,
        )
    )


def clock_time(moment: datetime) -> str:
    local = moment.astimezone(TOKYO)
    return f"{local.hour}:{local:%M}"


def quiet_notice(later: datetime, edge: Edge, _: Gettext) -> str:
    hours = f"{edge.quiet.start:%H:%M}〜{edge.quiet.end:%H:%M}"
    return _("いまは住民に送らない時間帯です（{hours}）。至急でなければ {at} に届けます。").format(
        hours=hours, at=clock_time(later)
    )


def preview_chips(_: Gettext, later: datetime | None = None) -> list[QuickReplyItem]:
    """送信, or in quiet hours 「8:00 に送る」 (their end) first and 「今すぐ送る」 as a choice."""
    sends = (
        [
            quick_button(_("{at} に送る").format(at=clock_time(later)), ComposeControl("later")),
            quick_button(_("今すぐ送る"), ComposeControl("now")),
        ]
        if later is not None
        else [quick_button(_("送信"), ComposeControl("send"))]
    )
    return [
        *sends,
        quick_button(_("予約"), ComposeControl("schedule")),
        quick_button(_("取消"), ComposeControl("cancel")),
    ]


def prompt(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    """What the current step asks for."""
    cancel = quick_button(_("取消"), ComposeControl("cancel"))
    skip = quick_button(_("なし"), ComposeControl("skip"))
    match state.step:
        case ComposeStep.title:
            return [text_message(_("題名を送ってください（100文字まで）。"), [cancel])]
        case ComposeStep.body:
            return [
                text_message(
                    _(
                        "本文を送ってください。何回かに分けて送れます。送り終えたら「次へ」を押してください。"
                    ),
                    [cancel],
                )
            ]
        case ComposeStep.photos:
            return [
                text_message(
                    _(
                        "写真があれば送ってください（最初の1枚がカードに出ます）。なければ「なし」。"
                    ),
                    [quick_button(_("次へ"), ComposeControl("next")), skip, cancel],
                )
            ]
        case ComposeStep.target:
            return target_list(session, member, state, _)
        case ComposeStep.question:
            return [
                text_message(
                    _("出欠などの質問をつけるときは、質問の文を送ってください。なければ「なし」。"),
                    [skip, cancel],
                )
            ]
        case ComposeStep.options:
            return [
                text_message(
                    _(
                        "選択肢を1つずつ送ってください（2〜4つ、1つ20文字まで）。"
                        "人数（0〜20人）や、ひとこと（200文字まで）で答えてもらうときは、"
                        "下のボタンを押してください。"
                    ),
                    [
                        quick_button(_("人数で答える"), ComposeControl("headcount")),
                        quick_button(_("ひとことで答える"), ComposeControl("text")),
                        cancel,
                    ],
                )
            ]
        case ComposeStep.deadline:
            return [
                text_message(
                    _("回答のしめきりをえらんでください。なければ「なし」。"),
                    [picker(_("しめきりをえらぶ"), "deadline", "datetime", clock), skip, cancel],
                )
            ]
        case ComposeStep.event_date:
            return [
                text_message(
                    _("行事の日があれば、えらんでください。なければ「なし」。"),
                    [picker(_("日にちをえらぶ"), "event", "date", clock), skip, cancel],
                )
            ]
        case ComposeStep.confirmation:
            return [
                text_message(
                    _("「確認しました」ボタンをつけて、住民に確認をお願いしますか？"),
                    [
                        quick_button(_("はい"), ComposeControl("yes")),
                        quick_button(_("いいえ"), ComposeControl("no")),
                        cancel,
                    ],
                )
            ]
        case ComposeStep.preview:
            return preview(session, clock, member, state, edge, _)
        case ComposeStep.schedule:
            return [
                text_message(
                    _("送る日時をえらんでください（日本時間）。"),
                    [picker(_("日時をえらぶ"), "at", "datetime", clock), cancel],
                )
            ]


def preview(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    shown = lifecycle.preview(
        session,
        member,
        state.circular,
        edge.remaining_quota,
        public_url=edge.public_url,
        clock=clock,
        quiet=edge.quiet,
    )
    lines = [
        _("プレビューです。次のカードが届きます。"),
        _("届け先：{area}").format(area=area_label(state.circular)),
        _("人数：{count}人（メッセージ{count}通）").format(count=shown.recipients),
    ]
    if not edge.quota_known:
        lines.append(_("今月の残り：確かめられませんでした"))
    elif shown.available is None:
        lines.append(_("今月の残り：上限なし"))
    else:
        lines.append(_("今月の残り：{count}通").format(count=max(shown.available, 0)))
    budget = shown.budget
    if budget is not None and budget.total > shown.recipients:
        lines.append(
            _("催促・お知らせを含めて：多くて{total}通（うち今月{month}通）").format(
                total=budget.total, month=budget.this_month
            )
        )
    if budget is not None and edge.quota_known and budget.available is not None:
        lines.append(_("今月すでに予定の分：{count}通").format(count=budget.committed))
    if shown.overrun:
        lines.append(_("注意：{warning}").format(warning=shown.overrun))
    if shown.paper.total:
        lines.append(_("紙で配る分：{count}部").format(count=shown.paper.total))
    if shown.problem:
        lines.append(_("このままでは送れません：{reason}").format(reason=shown.problem))
    later = lifecycle.quiet_until(clock, edge.quiet, state.circular)
    if later is not None:
        lines.append(quiet_notice(later, edge, _))
    summary: TextMessage = text_message("\n".join(lines))
    chips = preview_chips(_, later)
    if shown.card is None:
        return [summary, text_message(_("送信・予約・取消をえらんでください。"), chips)]
    card = FlexMessage(
        alt_text=shown.card.alt_text,
        contents=shown.card.contents,
        quick_reply=QuickReply(items=chips),
    )
    return [summary, card]


def target_list(
    session: Session, member: StaffMember, state: ComposeSession, _: Gettext
) -> list[Message]:
    """The areas the author may send to, a level at a time (校区 › 自治会 › 班), each tap
    choosing or dropping one; ✓ marks what is chosen."""
    tree = targeting.allowed_target_tree(session, Scope.of_member(member))
    circular = state.circular
    chosen = Target.of_circular(circular)
    level, _sep, parent = (state.browsing or "d:0").partition(":")
    parent_id = int(parent or 0)
    if level == "d" and len(tree) == 1:
        level, parent_id = "a", tree[0].id
    items: list[QuickReplyItem] = []
    back: QuickReplyItem | None = None
    entries: list[QuickReplyItem] = []
    if level == "g":
        association = next((a for d in tree for a in d.associations if a.id == parent_id), None)
        district = next((d for d in tree for a in d.associations if a.id == parent_id), None)
        if association is None or district is None:
            level, parent_id = "d", 0
        else:
            mark = "✓" if association.id in chosen.association_ids else ""
            items.append(
                quick_button(
                    mark + _("{name}全体").format(name=association.name),
                    ComposeToggle("a", association.id),
                )
            )
            entries = [
                quick_button(
                    ("✓" if g.id in chosen.group_ids else "") + g.name, ComposeToggle("g", g.id)
                )
                for g in association.groups
            ]
            back = quick_button(_("戻る"), ComposeBrowse("a", district.id, 0))
    if level == "a":
        district = next((d for d in tree if d.id == parent_id), None)
        if district is None:
            level, parent_id = "d", 0
        else:
            if district.selectable:
                mark = "✓" if district.id in chosen.district_ids else ""
                items.append(quick_button(mark + _("校区全体"), ComposeToggle("d", district.id)))
            for a in district.associations:
                if a.groups:
                    picked = a.id in chosen.association_ids or any(
                        g.id in chosen.group_ids for g in a.groups
                    )
                    entries.append(
                        quick_button(
                            ("✓" if picked else "") + a.name + "›", ComposeBrowse("g", a.id, 0)
                        )
                    )
                else:
                    mark = "✓" if a.id in chosen.association_ids else ""
                    entries.append(quick_button(mark + a.name, ComposeToggle("a", a.id)))
            if len(tree) > 1:
                back = quick_button(_("戻る"), ComposeBrowse("d", 0, 0))
    if level == "d":
        entries = [
            quick_button(
                ("✓" if d.id in chosen.district_ids else "") + d.name + "›",
                ComposeBrowse("a", d.id, 0),
            )
            for d in tree
        ]
        parent_id = 0
    pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
    page = min(state.page, pages - 1)
    items.extend(entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
    browse_level = level if level in ("d", "a", "g") else "d"
    if page > 0:
        items.append(quick_button(_("前へ"), ComposeBrowse(browse_level, parent_id, page - 1)))  # type: ignore[arg-type]
    if page + 1 < pages:
        items.append(quick_button(_("次へ"), ComposeBrowse(browse_level, parent_id, page + 1)))  # type: ignore[arg-type]
    if back is not None:
        items.append(back)
    if circular.targets:
        items.append(quick_button(_("決定"), ComposeControl("done")))
    lines = [_("届け先をえらんでください（押すたびに、えらぶ・はずすが切りかわります）。")]
    if circular.targets:
        recipients = reach(session, chosen).recipients
        lines.append(
            _("えらんだ届け先：{area}（{count}人）").format(
                area=area_label(circular), count=recipients
            )
        )
        lines.append(_("えらび終えたら「決定」を押してください。"))
    if pages > 1:
        lines.append(_("（{page}/{count}ページ）").format(page=page + 1, count=pages))
    return [text_message("\n".join(lines), items[:13])]
