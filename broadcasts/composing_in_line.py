"""Composing a circular in LINE: 「回覧作成」 starts a guided conversation for staff.

title → body (several messages) → photos (optional) → target (paged quick replies, only the
author's own scope) → question (optional) → 2–4 options → answer deadline (optional) → event date
(optional) → 「確認しました」 asked or not → preview (the exact card, recipients, quota) →
「送信」, 「予約」 (a datetime picker, Japan time) or 「取消」.

The draft is an ordinary draft Circular and the conversation's place a ComposeSession row, so a
half-finished draft survives restarts and 「回覧作成」 resumes it. Every value goes through
`broadcasts.circulars.drafts` (the same rules as the dashboard); before the preview the
whole draft is saved again through `drafts.save_draft`, which checks everything, scope included.

A draft left alone for 24 hours is discarded with a notice: lazily when its author next writes,
and by `discard_stale_drafts`, which the scheduler calls and whose notices it pushes.

The webhook edge fetches what needs LINE before its transaction (`Edge`): a photo's content, and
the remaining message quota on the steps that show or spend it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broadcasts.circulars import attachments, drafts, lifecycle, targeting
from broadcasts.circulars.drafts import CompositionError, NotPermitted
from broadcasts.circulars.targeting import Target, reach
from broadcasts.core import postbacks
from broadcasts.core.clock import TOKYO, Clock, tokyo_today
from broadcasts.core.i18n import locale_for, translations
from broadcasts.core.postbacks import ComposeBrowse, ComposeControl, ComposeToggle, Postback
from broadcasts.delivery.messages import area_label
from broadcasts.residents.registration import normalise
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff import logins
from broadcasts.staff.scope import Scope
from models import (
    AnswerOption,
    AttachmentKind,
    Circular,
    CircularStatus,
    ComposeSession,
    ComposeStep,
    StaffMember,
)

# line-bot-sdk is imported where LINE is called or a message is built: loading its models
# costs every process about 1.5 s of CPU, and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import Message, QuickReplyItem, TextMessage

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=24)
PAGE_SIZE = 8  # + whole area, previous, next, back, done: LINE's 13 quick replies
LABEL_LIMIT = 20
START_WORDS = frozenset(normalise(w) for w in ("回覧作成", "かいらんさくせい", "回覧をつくる"))
CANCEL_WORDS = frozenset(normalise(w) for w in ("取消", "取り消し", "とりけし", "やめる"))
# Steps whose postbacks may spend or show quota: the edge reads it before the transaction.
QUOTA_STEPS = (ComposeStep.confirmation, ComposeStep.preview)

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Edge:
    """What the webhook edge knows or fetched from LINE before opening its transaction."""

    public_url: str
    storage_dir: Path
    # KAIRAN_QUIET_HOURS: a send in them offers their end, or 「今すぐ送る」 as a choice.
    quiet: QuietHours
    # The content of the image message being handled, if it was fetched.
    photo: bytes | None = None
    # Whether LINE's remaining quota was read; `remaining_quota` None then means no limit.
    quota_known: bool = False
    remaining_quota: int | None = None


@dataclass(frozen=True)
class StaleNotice:
    """A push for the author of a discarded draft (sent by the scheduler, after its commit)."""

    staff_member_id: int
    line_user_id: str
    messages: list[Message]


def _gettext(language: str | None) -> Gettext:
    return translations(locale_for(language)).gettext


def _label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def _chip(label: str, postback: Postback) -> QuickReplyItem:
    from linebot.v3.messaging import PostbackAction, QuickReplyItem

    return QuickReplyItem(
        action=PostbackAction(
            label=_label(label), data=postbacks.encode(postback), display_text=label[:300]
        )
    )


def _picker(label: str, word: postbacks.ComposeWord, mode: str, clock: Clock) -> QuickReplyItem:
    from linebot.v3.messaging import DatetimePickerAction, QuickReplyItem

    now = clock.now().astimezone(TOKYO)
    if mode == "date":
        initial, earliest = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d")
    else:
        soon = (now + timedelta(hours=1)).replace(minute=0)
        initial, earliest = soon.strftime("%Y-%m-%dT%H:%M"), now.strftime("%Y-%m-%dT%H:%M")
    return QuickReplyItem(
        action=DatetimePickerAction(
            label=_label(label),
            data=postbacks.encode(ComposeControl(word)),
            mode=mode,
            initial=initial,
            min=earliest,
        )
    )


def _text(text: str, items: Sequence[QuickReplyItem] = ()) -> TextMessage:
    from linebot.v3.messaging import QuickReply, TextMessage

    return TextMessage(text=text, quick_reply=QuickReply(items=list(items)) if items else None)


# --- who and where --------------------------------------------------------------------------


def active_step(session: Session, line_user_id: str) -> ComposeStep | None:
    """The step of this LINE user's compose session, if they are staff and have one (read only;
    the edge asks before its transaction to know what to fetch)."""
    return session.scalars(
        select(ComposeSession.step)
        .join(StaffMember, StaffMember.id == ComposeSession.staff_member_id)
        .where(StaffMember.line_user_id == line_user_id)
    ).first()


def _load(
    session: Session, clock: Clock, line_user_id: str, _: Gettext
) -> tuple[StaffMember | None, ComposeSession | None, list[Message]]:
    """The staff member, their live compose session, and a notice if a stale one was dropped."""
    member = logins.staff_member_for(session, line_user_id)
    if member is None:
        return None, None, []
    state = session.get(ComposeSession, member.id)
    if state is None:
        return member, None, []
    if state.updated_at < clock.now() - STALE_AFTER:
        title = state.circular.title
        _discard(session, state)
        return member, None, [_text(_stale_text(title, _))]
    if state.circular.status is not CircularStatus.draft:
        # Sent, scheduled or cancelled elsewhere (the dashboard, the CLI): the conversation ends.
        session.delete(state)
        session.flush()
        return member, None, []
    return member, state, []


def _stale_text(title: str, _: Gettext) -> str:
    name = title or _("（題名なし）")
    return _("書きかけの回覧「{title}」は、24時間たったので消しました。").format(title=name)


def _discard(session: Session, state: ComposeSession) -> None:
    circular = state.circular
    session.delete(state)
    if circular.status is CircularStatus.draft:
        # Never sent, never seen by anyone: nothing to keep. Its files are left unreferenced.
        session.delete(circular)
    session.flush()


def discard_stale_drafts(session: Session, clock: Clock) -> list[StaleNotice]:
    """Drop compose sessions untouched for 24 hours with their drafts; the notices to push.

    For the scheduler: call in a transaction, commit, then push each notice."""
    notices: list[StaleNotice] = []
    stale = session.scalars(
        select(ComposeSession).where(ComposeSession.updated_at < clock.now() - STALE_AFTER)
    ).all()
    for state in stale:
        member = state.staff_member
        _ = _gettext(None)
        notices.append(
            StaleNotice(
                member.id, member.line_user_id, [_text(_stale_text(state.circular.title, _))]
            )
        )
        log.info("stale LINE draft %s of staff %s discarded", state.circular_id, member.id)
        _discard(session, state)
    return notices


# --- entry points -----------------------------------------------------------------------------


def handle_text(
    session: Session,
    clock: Clock,
    line_user_id: str,
    text: str,
    edge: Edge,
    language: str | None,
) -> list[Message] | None:
    """A text message: the reply if composing is concerned, else None (the resident flow)."""
    _ = _gettext(language)
    word = normalise(text)
    if word not in START_WORDS and active_step(session, line_user_id) is None:
        return None
    member, state, notice = _load(session, clock, line_user_id, _)
    if word in START_WORDS:
        return notice + _start(session, clock, member, state, _)
    if state is None or member is None:
        return notice or None
    if word in CANCEL_WORDS:
        return _cancel(session, state, _)
    state.updated_at = clock.now()
    try:
        return _on_text(session, clock, member, state, text, edge, _)
    except NotPermitted as error:
        return _end_unpermitted(session, state, error)
    except CompositionError as error:
        return [_text(error.message), *_prompt(session, clock, member, state, edge, _)]


def handle_image(
    session: Session, clock: Clock, line_user_id: str, edge: Edge, language: str | None
) -> list[Message] | None:
    """A photo: stored on the draft at the photos step; None when not composing."""
    if active_step(session, line_user_id) is None:
        return None
    _ = _gettext(language)
    member, state, notice = _load(session, clock, line_user_id, _)
    if state is None or member is None:
        return notice or None
    state.updated_at = clock.now()
    if state.step is not ComposeStep.photos:
        hint = _text(_("写真は「写真」の手順で送ってください。"))
        return [hint, *_prompt(session, clock, member, state, edge, _)]
    if edge.photo is None:
        return [_text(_("写真を受け取れませんでした。もう一度送ってください。"))]
    try:
        attachments.add_attachment(
            session, state.circular, "photo.jpg", edge.photo, edge.storage_dir
        )
    except CompositionError as error:
        return [_text(error.message)]
    count = sum(a.kind is AttachmentKind.image for a in state.circular.attachments)
    log.info("photo added to LINE draft %s", state.circular_id)
    return [
        _text(
            _("写真を受け取りました（{count}枚）。ほかにもあれば送ってください。").format(
                count=count
            ),
            [_chip(_("次へ"), ComposeControl("next")), _chip(_("取消"), ComposeControl("cancel"))],
        )
    ]


def handle_postback(
    session: Session,
    clock: Clock,
    line_user_id: str,
    postback: ComposeControl | ComposeBrowse | ComposeToggle,
    params: dict[str, str] | None,
    edge: Edge,
    language: str | None,
) -> list[Message]:
    _ = _gettext(language)
    member, state, notice = _load(session, clock, line_user_id, _)
    if member is None:
        return [_text(_("このボタンは今は使えません。"))]
    if state is None:
        if postback == ComposeControl("new"):
            return notice + _start(session, clock, member, None, _)
        none = _("書きかけの回覧はありません。「回覧作成」と送ると、はじめから作れます。")
        return [*notice, _text(none)]
    state.updated_at = clock.now()
    try:
        return _on_postback(session, clock, member, state, postback, params or {}, edge, _)
    except NotPermitted as error:
        return _end_unpermitted(session, state, error)
    except CompositionError as error:
        return [_text(error.message), *_prompt(session, clock, member, state, edge, _)]


# --- the steps --------------------------------------------------------------------------------


def _start(
    session: Session,
    clock: Clock,
    member: StaffMember | None,
    state: ComposeSession | None,
    _: Gettext,
) -> list[Message]:
    if member is None or not Scope.of_member(member).may_compose:
        return [_text(_("回覧を作れるのは、ICT推進員・自治会役員・管理者だけです。"))]
    if state is not None:
        title = state.circular.title or _("（題名なし）")
        return [
            _text(
                _("書きかけの回覧「{title}」があります。続けますか？").format(title=title),
                [
                    _chip(_("続ける"), ComposeControl("resume")),
                    _chip(_("新しく書く"), ComposeControl("new")),
                    _chip(_("取消"), ComposeControl("cancel")),
                ],
            )
        ]
    circular = Circular(author_id=member.id, title="", body="")
    session.add(circular)
    session.flush()
    state = ComposeSession(
        staff_member_id=member.id,
        circular_id=circular.id,
        step=ComposeStep.title,
        page=0,
        browsing="",
        updated_at=clock.now(),
    )
    session.add(state)
    session.flush()
    log.info("LINE draft %s started by staff %s", circular.id, member.id)
    return [
        _text(
            _("回覧を作ります。まず、題名を送ってください（100文字まで）。")
            + "\n"
            + _("やめるときは「取消」と送ってください。")
        )
    ]


def _end_unpermitted(session: Session, state: ComposeSession, error: NotPermitted) -> list[Message]:
    """The author's scope no longer covers the draft (a role taken away): the conversation ends,
    and the draft stays for staff whose scope does."""
    log.info("LINE draft %s: its author may no longer manage it", state.circular_id)
    session.delete(state)
    session.flush()
    return [_text(error.message)]


def _cancel(session: Session, state: ComposeSession, _: Gettext) -> list[Message]:
    log.info("LINE draft %s cancelled", state.circular_id)
    _discard(session, state)
    return [_text(_("回覧の作成を取り消しました。"))]


def _on_text(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    text: str,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    circular = state.circular
    if state.step is ComposeStep.title:
        circular.title = drafts.clean_title(text)
        return _go(session, clock, member, state, ComposeStep.body, edge, _)
    if state.step is ComposeStep.body:
        joined = f"{circular.body}\n{text}" if circular.body else text
        circular.body = drafts.clean_body(joined)
        return [
            _text(
                _("本文を受け取りました（{count}文字）。続きがあれば送ってください。").format(
                    count=len(circular.body)
                ),
                [
                    _chip(_("次へ"), ComposeControl("next")),
                    _chip(_("取消"), ComposeControl("cancel")),
                ],
            )
        ]
    if state.step is ComposeStep.question:
        circular.question = drafts.clean_question(text)
        return _go(session, clock, member, state, ComposeStep.options, edge, _)
    if state.step is ComposeStep.options:
        option = drafts.clean_option(text)
        if option in (o.label for o in circular.options):
            raise CompositionError("options", _("同じ選択肢が2つあります"))
        circular.options.append(AnswerOption(position=len(circular.options) + 1, label=option))
        session.flush()
        if len(circular.options) >= drafts.MAX_OPTIONS:
            return _go(session, clock, member, state, ComposeStep.deadline, edge, _)
        items = [_chip(_("取消"), ComposeControl("cancel"))]
        if len(circular.options) >= drafts.MIN_OPTIONS:
            items.insert(0, _chip(_("次へ"), ComposeControl("next")))
        return [
            _text(
                _("選択肢「{label}」を受け取りました（{count}つめ）。").format(
                    label=option, count=len(circular.options)
                ),
                items,
            )
        ]
    # Steps answered with buttons: show them again.
    return _prompt(session, clock, member, state, edge, _)


def _on_postback(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    postback: ComposeControl | ComposeBrowse | ComposeToggle,
    params: dict[str, str],
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    circular, step = state.circular, state.step

    def go(to: ComposeStep) -> list[Message]:
        return _go(session, clock, member, state, to, edge, _)

    match postback:
        case ComposeControl("cancel"):
            return _cancel(session, state, _)
        case ComposeControl("resume"):
            return _prompt(session, clock, member, state, edge, _)
        case ComposeControl("new"):
            _discard(session, state)
            return _start(session, clock, member, None, _)
        case ComposeControl("next") if step is ComposeStep.body:
            drafts.clean_body(circular.body)
            return go(ComposeStep.photos)
        case ComposeControl("next" | "skip") if step is ComposeStep.photos:
            return go(ComposeStep.target)
        case ComposeBrowse(level, parent_id, page) if step is ComposeStep.target:
            state.browsing = f"{level}:{parent_id}"
            state.page = page
            return _target_list(session, member, state, _)
        case ComposeToggle(level, area_id) if step is ComposeStep.target:
            _toggle(session, member, circular, level, area_id)
            return _target_list(session, member, state, _)
        case ComposeControl("done") if step is ComposeStep.target:
            if not circular.targets:
                raise CompositionError("targets", _("届け先をえらんでください"))
            return go(ComposeStep.question)
        case ComposeControl("skip") if step is ComposeStep.question:
            circular.question = None
            circular.options.clear()
            circular.answer_deadline = None
            return go(ComposeStep.event_date)
        case ComposeControl("next") if step is ComposeStep.options:
            if len(circular.options) < drafts.MIN_OPTIONS:
                raise CompositionError("options", _("選択肢は2つ以上送ってください"))
            return go(ComposeStep.deadline)
        case ComposeControl("deadline") if step is ComposeStep.deadline:
            circular.answer_deadline = _picked_datetime(params, clock, "answer_deadline", _)
            return go(ComposeStep.event_date)
        case ComposeControl("skip") if step is ComposeStep.deadline:
            circular.answer_deadline = None
            return go(ComposeStep.event_date)
        case ComposeControl("event") if step is ComposeStep.event_date:
            circular.event_date = _picked_date(params, clock, _)
            return go(ComposeStep.confirmation)
        case ComposeControl("skip") if step is ComposeStep.event_date:
            circular.event_date = None
            return go(ComposeStep.confirmation)
        case ComposeControl("yes" | "no") as answer if step is ComposeStep.confirmation:
            circular.confirmation_required = answer.word == "yes"
            # Everything once more through the rules the dashboard uses, scope included.
            drafts.save_draft(session, clock, member, drafts.draft_of(circular), circular)
            return go(ComposeStep.preview)
        case ComposeControl("send") if step is ComposeStep.preview:
            later = lifecycle.quiet_until(clock, edge.quiet, circular)
            if later is not None:
                # A chip from before the quiet hours began: the author chooses now.
                return [_text(_quiet_notice(later, edge, _), _preview_chips(_, later))]
            return _send(session, clock, member, state, edge, _)
        case ComposeControl("now") if step is ComposeStep.preview:
            return _send(session, clock, member, state, edge, _)
        case ComposeControl("later") if step is ComposeStep.preview:
            later = lifecycle.quiet_until(clock, edge.quiet, circular)
            if later is None:
                return _send(session, clock, member, state, edge, _)
            return _schedule(session, clock, member, state, later, _)
        case ComposeControl("schedule") if step is ComposeStep.preview:
            return go(ComposeStep.schedule)
        case ComposeControl("at") if step is ComposeStep.schedule:
            when = _picked_datetime(params, clock, "scheduled_at", _)
            return _schedule(session, clock, member, state, when, _)
    return [
        _text(_("このボタンは今は使えません。")),
        *_prompt(session, clock, member, state, edge, _),
    ]


def _schedule(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    when: datetime,
    _: Gettext,
) -> list[Message]:
    circular = state.circular
    lifecycle.schedule(session, clock, member, circular, when)
    session.delete(state)
    session.flush()
    log.info("LINE draft %s scheduled", circular.id)
    shown = when.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    return [
        _text(
            _("{when}（日本時間）に送るよう予約しました。").format(when=shown)
            + "\n"
            + _("やめるときは管理画面で取り消せます。")
        )
    ]


def _quiet_notice(later: datetime, edge: Edge, _: Gettext) -> str:
    hours = f"{edge.quiet.start:%H:%M}〜{edge.quiet.end:%H:%M}"
    return _("いまは住民に送らない時間帯です（{hours}）。至急でなければ {at} に届けます。").format(
        hours=hours, at=_clock_time(later)
    )


def _clock_time(moment: datetime) -> str:
    local = moment.astimezone(TOKYO)
    return f"{local.hour}:{local:%M}"


def _send(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    if not edge.quota_known:
        # Never send without knowing the quota: a circular must not stop half-way.
        return [
            _text(
                _(
                    "LINEのメッセージ残数を確かめられませんでした。少しおいて、もう一度「送信」を押してください。"
                ),
                _preview_chips(_, lifecycle.quiet_until(clock, edge.quiet, state.circular)),
            )
        ]
    circular = state.circular
    result = lifecycle.send_now(session, clock, member, circular, edge.remaining_quota)
    if not result.released:
        return [
            _text(
                _("送信できませんでした：{reason}").format(reason=result.reason or ""),
                _preview_chips(_, lifecycle.quiet_until(clock, edge.quiet, circular)),
            )
        ]
    session.delete(state)
    session.flush()
    log.info("LINE draft %s released to %d residents", circular.id, result.recipients)
    return [
        _text(
            _("送信をはじめました。{count}人に届けます。").format(count=result.recipients)
            + "\n"
            + _("確認の進み具合は管理画面で見られます。")
        )
    ]


def _picked_datetime(params: dict[str, str], clock: Clock, field: str, _: Gettext) -> datetime:
    value = params.get("datetime", "")
    try:
        picked = datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=TOKYO)
    except ValueError:
        raise CompositionError(field, _("日時をえらんでください")) from None
    if picked <= clock.now():
        raise CompositionError(field, _("先の日時をえらんでください"))
    return picked


def _picked_date(params: dict[str, str], clock: Clock, _: Gettext) -> date:
    try:
        picked = date.fromisoformat(params.get("date", ""))
    except ValueError:
        raise CompositionError("event_date", _("日にちをえらんでください")) from None
    if picked < tokyo_today(clock):
        raise CompositionError("event_date", _("今日より後の日にちをえらんでください"))
    return picked


def _go(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    step: ComposeStep,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    state.step = step
    state.page = 0
    state.browsing = ""
    if step is ComposeStep.deadline and not state.circular.question:
        state.step = ComposeStep.event_date
    session.flush()
    return _prompt(session, clock, member, state, edge, _)


def _prompt(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    """What the current step asks for."""
    cancel = _chip(_("取消"), ComposeControl("cancel"))
    skip = _chip(_("なし"), ComposeControl("skip"))
    match state.step:
        case ComposeStep.title:
            return [_text(_("題名を送ってください（100文字まで）。"), [cancel])]
        case ComposeStep.body:
            return [
                _text(
                    _(
                        "本文を送ってください。何回かに分けて送れます。送り終えたら「次へ」を押してください。"
                    ),
                    [cancel],
                )
            ]
        case ComposeStep.photos:
            return [
                _text(
                    _(
                        "写真があれば送ってください（最初の1枚がカードに出ます）。なければ「なし」。"
                    ),
                    [_chip(_("次へ"), ComposeControl("next")), skip, cancel],
                )
            ]
        case ComposeStep.target:
            return _target_list(session, member, state, _)
        case ComposeStep.question:
            return [
                _text(
                    _("出欠などの質問をつけるときは、質問の文を送ってください。なければ「なし」。"),
                    [skip, cancel],
                )
            ]
        case ComposeStep.options:
            return [
                _text(
                    _("選択肢を1つずつ送ってください（2〜4つ、1つ20文字まで）。"),
                    [cancel],
                )
            ]
        case ComposeStep.deadline:
            return [
                _text(
                    _("回答のしめきりをえらんでください。なければ「なし」。"),
                    [_picker(_("しめきりをえらぶ"), "deadline", "datetime", clock), skip, cancel],
                )
            ]
        case ComposeStep.event_date:
            return [
                _text(
                    _("行事の日があれば、えらんでください。なければ「なし」。"),
                    [_picker(_("日にちをえらぶ"), "event", "date", clock), skip, cancel],
                )
            ]
        case ComposeStep.confirmation:
            return [
                _text(
                    _("「確認しました」ボタンをつけて、住民に確認をお願いしますか？"),
                    [
                        _chip(_("はい"), ComposeControl("yes")),
                        _chip(_("いいえ"), ComposeControl("no")),
                        cancel,
                    ],
                )
            ]
        case ComposeStep.preview:
            return _preview(session, clock, member, state, edge, _)
        case ComposeStep.schedule:
            return [
                _text(
                    _("送る日時をえらんでください（日本時間）。"),
                    [_picker(_("日時をえらぶ"), "at", "datetime", clock), cancel],
                )
            ]


def _preview_chips(_: Gettext, later: datetime | None = None) -> list[QuickReplyItem]:
    """送信, or in quiet hours 「8:00 に送る」 (their end) first and 「今すぐ送る」 as a choice."""
    sends = (
        [
            _chip(_("{at} に送る").format(at=_clock_time(later)), ComposeControl("later")),
            _chip(_("今すぐ送る"), ComposeControl("now")),
        ]
        if later is not None
        else [_chip(_("送信"), ComposeControl("send"))]
    )
    return [
        *sends,
        _chip(_("予約"), ComposeControl("schedule")),
        _chip(_("取消"), ComposeControl("cancel")),
    ]


def _preview(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    edge: Edge,
    _: Gettext,
) -> list[Message]:
    from linebot.v3.messaging import FlexMessage, QuickReply

    shown = lifecycle.preview(
        session, member, state.circular, edge.remaining_quota, public_url=edge.public_url
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
    if shown.paper.total:
        lines.append(_("紙で配る分：{count}部").format(count=shown.paper.total))
    if shown.problem:
        lines.append(_("このままでは送れません：{reason}").format(reason=shown.problem))
    later = lifecycle.quiet_until(clock, edge.quiet, state.circular)
    if later is not None:
        lines.append(_quiet_notice(later, edge, _))
    summary = _text("\n".join(lines))
    chips = _preview_chips(_, later)
    if shown.card is None:
        return [summary, _text(_("送信・予約・取消をえらんでください。"), chips)]
    card = FlexMessage(
        alt_text=shown.card.alt_text,
        contents=shown.card.contents,
        quick_reply=QuickReply(items=chips),
    )
    return [summary, card]


# --- targets ----------------------------------------------------------------------------------


def _toggle(
    session: Session, member: StaffMember, circular: Circular, level: str, area_id: int
) -> None:
    one = {
        "d": Target.of(districts=[area_id]),
        "a": Target.of(associations=[area_id]),
        "g": Target.of(groups=[area_id]),
    }[level]
    # A forged id, or one outside the author's scope, is refused here, not just hidden.
    drafts.check_target(session, member, one)
    current = Target.of_circular(circular)

    def flip(ids: frozenset[int]) -> frozenset[int]:
        return ids ^ {area_id}

    drafts.set_targets(
        circular,
        Target(
            flip(current.district_ids) if level == "d" else current.district_ids,
            flip(current.association_ids) if level == "a" else current.association_ids,
            flip(current.group_ids) if level == "g" else current.group_ids,
        ),
    )
    session.flush()


def _target_list(
    session: Session, member: StaffMember, state: ComposeSession, _: Gettext
) -> list[Message]:
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
                _chip(
                    mark + _("{name}全体").format(name=association.name),
                    ComposeToggle("a", association.id),
                )
            )
            entries = [
                _chip(("✓" if g.id in chosen.group_ids else "") + g.name, ComposeToggle("g", g.id))
                for g in association.groups
            ]
            back = _chip(_("戻る"), ComposeBrowse("a", district.id, 0))
    if level == "a":
        district = next((d for d in tree if d.id == parent_id), None)
        if district is None:
            level, parent_id = "d", 0
        else:
            if district.selectable:
                mark = "✓" if district.id in chosen.district_ids else ""
                items.append(_chip(mark + _("校区全体"), ComposeToggle("d", district.id)))
            for a in district.associations:
                if a.groups:
                    picked = a.id in chosen.association_ids or any(
                        g.id in chosen.group_ids for g in a.groups
                    )
                    entries.append(
                        _chip(("✓" if picked else "") + a.name + "›", ComposeBrowse("g", a.id, 0))
                    )
                else:
                    mark = "✓" if a.id in chosen.association_ids else ""
                    entries.append(_chip(mark + a.name, ComposeToggle("a", a.id)))
            if len(tree) > 1:
                back = _chip(_("戻る"), ComposeBrowse("d", 0, 0))
    if level == "d":
        entries = [
            _chip(
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
        items.append(_chip(_("前へ"), ComposeBrowse(browse_level, parent_id, page - 1)))  # type: ignore[arg-type]
    if page + 1 < pages:
        items.append(_chip(_("次へ"), ComposeBrowse(browse_level, parent_id, page + 1)))  # type: ignore[arg-type]
    if back is not None:
        items.append(back)
    if circular.targets:
        items.append(_chip(_("決定"), ComposeControl("done")))
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
    return [_text("\n".join(lines), items[:13])]


def delete_session_of(session: Session, staff_member_id: int) -> None:
    """End a staff member's LINE conversation (the dashboard took the draft over)."""
    session.execute(delete(ComposeSession).where(ComposeSession.staff_member_id == staff_member_id))
