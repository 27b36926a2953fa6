"""Composing a circular in LINE: 「回覧作成」 starts a guided conversation for staff, and while
it lasts every text, photo and button of theirs belongs to it (the routes try it first).

The session and the steps' rules are the services' (broadcasts/composing/sessions.py and
steps.py); this module words what each step did, compose_prompts what each step asks.
"""

from __future__ import annotations

from linebot.v3.messaging import Message, QuickReplyItem

from broadcasts.composing import sessions as drafts
from broadcasts.composing import steps
from broadcasts.composing.drafts import CompositionError, NotPermitted
from broadcasts.composing.steps import (
    Ask,
    BodyAdded,
    Cancelled,
    NoPhoto,
    NotReleased,
    OptionAdded,
    PhotoAdded,
    QuietNow,
    QuotaUnknown,
    Released,
    Scheduled,
    StartAgain,
    StepRefused,
    Unusable,
    WrongStep,
)
from broadcasts.core.clock import TOKYO
from broadcasts.core.postbacks import ComposeBrowse, ComposeControl, ComposeToggle
from linebot_app.chat.compose_prompts import preview_chips, prompt, quiet_notice
from linebot_app.chat.context import Context, Edge, Sent
from linebot_app.chat.replies import Gettext, gettext_in, quick_button, text_message
from models import ComposeSession, StaffMember


def on_start(context: Context, _text: str) -> list[Message]:
    """「回覧作成」: a new draft, or the offer to go on with the one half-written."""
    language = context.language()
    _ = gettext_in(language)
    opened = drafts.open_session(context.session, context.clock, context.user_id)
    return _discarded(opened, language) + _start(context, opened.member, opened.state, _)


def on_cancel(context: Context, _text: str) -> list[Message] | None:
    """「取消」 while composing: the draft goes. None when there is none any more."""
    language = context.language()
    _ = gettext_in(language)
    opened = drafts.open_session(context.session, context.clock, context.user_id)
    if opened.state is None or opened.member is None:
        return _discarded(opened, language) or None
    drafts.cancel(context.session, opened.state)
    return [text_message(_("回覧の作成を取り消しました。"))]


def on_text(context: Context, text: str) -> list[Message] | None:
    """A text while composing; None when the draft just ended elsewhere (sent from the
    dashboard): the text is then an ordinary one."""
    language = context.language()
    _ = gettext_in(language)
    opened = drafts.open_session(context.session, context.clock, context.user_id)
    member, state = opened.member, opened.state
    if state is None or member is None:
        return _discarded(opened, language) or None
    edge = _edge(context)
    try:
        taken = steps.take_text(context.session, context.clock, state, text)
    except NotPermitted as error:
        drafts.end_unpermitted(context.session, state)
        return [text_message(error.message)]
    except (CompositionError, StepRefused) as error:
        return [text_message(_refusal(error, _)), *_ask(context, member, state, edge, _)]
    match taken:
        case BodyAdded(length):
            return [
                text_message(
                    _("本文を受け取りました（{count}文字）。続きがあれば送ってください。").format(
                        count=length
                    ),
                    [_next(_), _cancel(_)],
                )
            ]
        case OptionAdded(label, count, enough):
            return [
                text_message(
                    _("選択肢「{label}」を受け取りました（{count}つめ）。").format(
                        label=label, count=count
                    ),
                    [_next(_), _cancel(_)] if enough else [_cancel(_)],
                )
            ]
    return _ask(context, member, state, edge, _)


def on_photo(context: Context, _sent: Sent) -> list[Message] | None:
    """A photo while composing: kept on the draft at the photos step."""
    language = context.language()
    _ = gettext_in(language)
    opened = drafts.open_session(context.session, context.clock, context.user_id)
    member, state = opened.member, opened.state
    if state is None or member is None:
        return _discarded(opened, language) or None
    edge = _edge(context)
    try:
        taken = steps.add_photo(context.session, context.clock, state, edge.photo, edge.storage_dir)
    except CompositionError as error:
        return [text_message(error.message)]
    match taken:
        case WrongStep():
            hint = text_message(_("写真は「写真」の手順で送ってください。"))
            return [hint, *_ask(context, member, state, edge, _)]
        case NoPhoto():
            return [text_message(_("写真を受け取れませんでした。もう一度送ってください。"))]
        case PhotoAdded(count):
            return [
                text_message(
                    _("写真を受け取りました（{count}枚）。ほかにもあれば送ってください。").format(
                        count=count
                    ),
                    [_next(_), _cancel(_)],
                )
            ]


def on_tap(context: Context, sent: Sent) -> list[Message]:
    """A button of the conversation (a chip, or a date or time picker's choice)."""
    tap = sent.postback
    assert isinstance(tap, ComposeControl | ComposeBrowse | ComposeToggle)  # noqa: S101 - routed so
    language = context.language()
    _ = gettext_in(language)
    opened = drafts.open_session(context.session, context.clock, context.user_id)
    member, state, notice = opened.member, opened.state, _discarded(opened, language)
    if member is None:
        return [text_message(_("このボタンは今は使えません。"))]
    if state is None:
        if tap == ComposeControl("new"):
            return notice + _start(context, member, None, _)
        none = _("書きかけの回覧はありません。「回覧作成」と送ると、はじめから作れます。")
        return [*notice, text_message(none)]
    edge = _edge(context)
    try:
        taken = steps.take_tap(
            context.session,
            context.clock,
            member,
            state,
            tap,
            sent.params or {},
            edge.quiet,
            edge.remaining_quota,
            edge.quota_known,
        )
    except NotPermitted as error:
        drafts.end_unpermitted(context.session, state)
        return [text_message(error.message)]
    except (CompositionError, StepRefused) as error:
        return [text_message(_refusal(error, _)), *_ask(context, member, state, edge, _)]
    match taken:
        case Ask():
            return _ask(context, member, state, edge, _)
        case Unusable():
            return [
                text_message(_("このボタンは今は使えません。")),
                *_ask(context, member, state, edge, _),
            ]
        case Cancelled():
            return [text_message(_("回覧の作成を取り消しました。"))]
        case StartAgain():
            return _start(context, member, None, _)
        case QuietNow(later):
            return [text_message(quiet_notice(later, edge, _), preview_chips(_, later))]
        case QuotaUnknown(later):
            # Never sent without knowing the quota: a circular must not stop half-way.
            text = _(
                "LINEのメッセージ残数を確かめられませんでした。少しおいて、もう一度「送信」を押してください。"
            )
            return [text_message(text, preview_chips(_, later))]
        case NotReleased(reason, later):
            text = _("送信できませんでした：{reason}").format(reason=reason)
            return [text_message(text, preview_chips(_, later))]
        case Released(recipients):
            return [
                text_message(
                    _("送信をはじめました。{count}人に届けます。").format(count=recipients)
                    + "\n"
                    + _("確認の進み具合は管理画面で見られます。")
                )
            ]
        case Scheduled(when):
            shown = when.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
            return [
                text_message(
                    _("{when}（日本時間）に送るよう予約しました。").format(when=shown)
                    + "\n"
                    + _("やめるときは管理画面で取り消せます。")
                )
            ]


def _start(
    context: Context, member: StaffMember | None, state: ComposeSession | None, _: Gettext
) -> list[Message]:
    if member is None or not drafts.may_compose(context.session, member):
        return [text_message(_("回覧を作れるのは、ICT推進員・自治会役員・管理者だけです。"))]
    if state is not None:
        title = state.circular.title or _("（題名なし）")
        return [
            text_message(
                _("書きかけの回覧「{title}」があります。続けますか？").format(title=title),
                [
                    quick_button(_("続ける"), ComposeControl("resume")),
                    quick_button(_("新しく書く"), ComposeControl("new")),
                    _cancel(_),
                ],
            )
        ]
    drafts.start(context.session, context.clock, member)
    return [
        text_message(
            _("回覧を作ります。まず、題名を送ってください（100文字まで）。")
            + "\n"
            + _("やめるときは「取消」と送ってください。")
        )
    ]


def _discarded(opened: drafts.Opened, language: str | None) -> list[Message]:
    """The notice for a draft dropped just now, having been left for 24 hours."""
    if opened.discarded is None:
        return []
    return [text_message(drafts.stale_notice(opened.discarded, language))]


def _ask(
    context: Context, member: StaffMember, state: ComposeSession, edge: Edge, _: Gettext
) -> list[Message]:
    return prompt(context.session, context.clock, member, state, edge, _)


def _edge(context: Context) -> Edge:
    assert context.compose is not None  # noqa: S101 - the routes compose only with an edge
    return context.compose


def _refusal(error: CompositionError | StepRefused, _: Gettext) -> str:
    if isinstance(error, CompositionError):
        return error.message
    reasons = {
        "duplicate_option": _("同じ選択肢が2つあります"),
        "too_few_options": _("選択肢は2つ以上送ってください"),
        "no_targets": _("届け先をえらんでください"),
        "pick_datetime": _("日時をえらんでください"),
        "future_datetime": _("先の日時をえらんでください"),
        "pick_date": _("日にちをえらんでください"),
        "later_date": _("今日より後の日にちをえらんでください"),
    }
    return reasons[error.reason]


def _next(_: Gettext) -> QuickReplyItem:
    return quick_button(_("次へ"), ComposeControl("next"))


def _cancel(_: Gettext) -> QuickReplyItem:
    return quick_button(_("取消"), ComposeControl("cancel"))
