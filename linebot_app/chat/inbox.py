"""「自治会へ」 in LINE: a resident writes to their association. The message reaches its officers
on the dashboard (with a short LINE notice, without the body); their answer comes back in LINE.

「自治会へ」 alone makes the very next text the message (inbox.writing.take_prompt), as
「表示名の変更」 does; 「自治会へ 本文」 sends at once; a photo sent right after joins it (the
webhook fetched it beforehand: context.prepare). Nothing here logs what was written.
"""

from __future__ import annotations

import re

from linebot.v3.messaging import Message

from broadcasts.core.text import typed_word
from broadcasts.inbox import writing
from linebot_app.chat.context import Context, Sent
from linebot_app.chat.replies import gettext_in, menu_items, text_message

# The command: the first word of the text, in any width, kana or case.
_COMMAND = frozenset(
    typed_word(word)
    for word in ("自治会へ", "町内会へ", "じちかいへ", "ちょうないかいへ", "association")
)


def use_up_prompt(context: Context, _text: str) -> None:
    """Every text from a resident uses up a pending 「自治会へ」, commands included. Never
    answers."""
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    context.inbox_awaited = writing.take_prompt(context.session, context.clock, resident)


def on_typed(context: Context, text: str) -> list[Message] | None:
    """「自治会へ」 (then ask), 「自治会へ 本文」, or the message asked for; None otherwise."""
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    first, _space, rest = text.strip().partition(_first_space(text.strip()))
    command = typed_word(first) in _COMMAND
    if not command and not context.inbox_awaited:
        return None
    _ = gettext_in(context.language())
    # The message as typed, not normalised: it is for people to read.
    body = rest if command else text
    status = writing.write(context.session, context.clock, resident, body)
    if status == "empty":
        writing.prompt(context.session, context.clock, resident)
        return [
            text_message(
                _(
                    "自治会の役員に伝えたいことを書いて送ってください（{limit}文字まで）。"
                    "例：○○の街灯が切れています\n"
                    "あなたの世帯の表示名が役員に見えます。LINEの名前やIDは見えません。"
                ).format(limit=writing.BODY_LIMIT)
            )
        ]
    texts = {
        "sent": _(
            "自治会の役員に送りました。返事はこのトークに届きます。"
            "写真があれば、続けて1枚送れます。"
            "急ぎのときや命にかかわるときは、電話で119番・110番に連絡してください。"
        ),
        "too_long": _("{limit}文字までにしてください。もう一度「自治会へ」と送ってください。"),
        "too_many": _("自治会へ送れるのは1日{count}通までです。明日また送ってください。"),
        "not_registered": _(
            "自治会へ送るには、先に自治会を登録してください。「設定」と送ると登録できます。"
        ),
    }
    reply = texts[status].format(limit=writing.BODY_LIMIT, count=writing.DAILY_LIMIT)
    return [text_message(reply, menu_items(_))]


def _first_space(text: str) -> str:
    """The first white space in `text` (a full-width one too), or one it does not hold."""
    found = re.search(r"\s", text)
    return found[0] if found else "\0"


def on_photo(context: Context, _sent: Sent) -> list[Message] | None:
    """A photo right after the resident's message: kept with it. None (help) otherwise."""
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    message = writing.awaits_photo(context.session, resident.id, context.clock.now())
    if message is None or context.compose is None:
        return None
    _ = gettext_in(context.language())
    taken = writing.add_photo(
        context.session, context.clock, message, context.compose.photo, context.compose.storage_dir
    )
    texts = {
        "added": _("写真も自治会の役員に送りました。"),
        "none": _("写真を受け取れませんでした。もう一度送ってください。"),
        "refused": _("写真（JPEG・PNG）だけ送れます。"),
    }
    return [text_message(texts[taken], menu_items(_))]
