"""Answering a headcount or a free answer in LINE: 「回答する」 on the card, the 0–9 buttons and
「10人以上」, and the text the bot then waits for (broadcasts.residents.answers).

Plain words for an elderly resident: one question per message, buttons where a tap will do,
and when something cannot be taken, what to send instead.
"""

from __future__ import annotations

from linebot.v3.messaging import Message, QuickReplyItem

from broadcasts.core.postbacks import Headcount, Respond, TypeCount
from broadcasts.residents import answers
from broadcasts.residents.answers import Answered, Asked
from linebot_app.chat.context import Context
from linebot_app.chat.replies import Gettext, confirmation, gettext_in, quick_button, text_message
from models import QuestionKind, Resident

# Buttons for 0–9 people; more are typed (LINE allows 13 quick replies).
BUTTONS = range(10)


def _known(context: Context) -> Resident:
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    return resident


def on_respond(context: Context, tap: Respond) -> list[Message]:
    """「回答する」: the headcount buttons, or the request for a text."""
    asked = answers.ask(context.session, context.clock, _known(context), tap.circular_id)
    return asking(asked, tap.circular_id, context.language())


def on_type_count(context: Context, tap: TypeCount) -> list[Message]:
    """「10人以上」: the number is typed."""
    asked = answers.ask(context.session, context.clock, _known(context), tap.circular_id)
    if asked.status != "ask":
        return asking(asked, tap.circular_id, context.language())
    _ = gettext_in(context.language())
    return [text_message(_("人数を数字で送ってください（例：12）。20人までです。"))]


def on_headcount(context: Context, tap: Headcount) -> list[Message]:
    resident = _known(context)
    # A button answered it: the next text is no longer awaited as the answer.
    answers.take_prompt(context.session, context.clock, resident)
    answered = answers.headcount(
        context.session, context.clock, resident, tap.circular_id, tap.count
    )
    return answer(answered, tap.circular_id, context.language())


def use_up_prompt(context: Context, _text: str) -> None:
    """Every text from a resident past composing uses up a pending 「回答する」, as a pending
    「検索」 is: it applies to the very next message only. Never answers."""
    context.answer_awaited = answers.take_prompt(context.session, context.clock, _known(context))


def on_typed(context: Context, text: str) -> list[Message] | None:
    """The text after 「回答する」 is the answer; None when no answer was awaited."""
    if context.answer_awaited is None:
        return None
    circular_id = context.answer_awaited
    answered = answers.typed(context.session, context.clock, _known(context), circular_id, text)
    return answer(answered, circular_id, context.language())


# --- words --------------------------------------------------------------------------------------


def count_buttons(circular_id: int, _: Gettext) -> list[QuickReplyItem]:
    return [
        *(quick_button(_("{n}人").format(n=n), Headcount(circular_id, n)) for n in BUTTONS),
        quick_button(_("10人以上"), TypeCount(circular_id)),
    ]


def asking(asked: Asked, circular_id: int, language: str | None) -> list[Message]:
    _ = gettext_in(language)
    if asked.status == "closed":
        return [text_message(_("この回覧の回答は締め切りました。ありがとうございました。"))]
    if asked.status == "unknown":
        return confirmation("unknown", language)
    if asked.kind is QuestionKind.headcount:
        return [
            text_message(
                _(
                    "何人ですか。下のボタンからえらんでください。10人以上のときは数字を送ってください。"
                ),
                count_buttons(circular_id, _),
            )
        ]
    return [text_message(_("答えを文字で送ってください（200文字まで）。"))]


def answer(answered: Answered, circular_id: int, language: str | None) -> list[Message]:
    _ = gettext_in(language)
    headcount = answered.kind is QuestionKind.headcount
    if answered.status == "recorded":
        if headcount:
            text = _("{n}人で受け付けました。").format(n=answered.count)
        else:
            text = _("答えを受け付けました。ありがとうございます。")
        if answered.deadline:
            text += _("しめきりまでは、「回答する」からもう一度答えると変えられます。")
        else:
            text += _("「回答する」からもう一度答えると、あとから変えられます。")
        return [text_message(text)]
    if answered.status == "invalid" and headcount:
        return [
            text_message(
                _("人数は0から20までの数字で送ってください（例：12）。"),
                count_buttons(circular_id, _),
            )
        ]
    if answered.status == "invalid":
        return [text_message(_("答えは200文字までにして、もう一度送ってください。"))]
    if answered.status == "closed":
        return [text_message(_("この回覧の回答は締め切りました。ありがとうございました。"))]
    return confirmation("unknown", language)
