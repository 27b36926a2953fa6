"""「表示名の変更」 in LINE: a resident asks for another label for their household (the name
their officers and 班長 see them by). The request waits for one of them on the dashboard; the
label shows in 「わたしの情報」.

「表示名の変更 新しい名前」 asks at once; 「表示名の変更」 alone makes the very next text the
label (households.labels.take_prompt), as 「検索」 does for the word.
"""

from __future__ import annotations

import re
import unicodedata

from linebot.v3.messaging import Message

from broadcasts.households import labels
from linebot_app.chat.context import Context
from linebot_app.chat.replies import gettext_in, menu_items, text_message

# The command, alone or followed by the label; typed in any width.
_COMMAND = re.compile(
    r"(?:表示名の変更|表示名変更|ひょうじめいのへんこう|change (?:my )?name)(?:\s+(.*))?",
    re.IGNORECASE | re.DOTALL,
)


def use_up_prompt(context: Context, _text: str) -> None:
    """Every text from a resident uses up a pending 「表示名の変更」, commands included. Never
    answers."""
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    context.label_awaited = labels.take_prompt(context.session, context.clock, resident)


def on_typed(context: Context, text: str) -> list[Message] | None:
    """「表示名の変更」 (then ask), 「表示名の変更 名前」, or the label asked for; None
    otherwise."""
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    command = _COMMAND.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if command is None and not context.label_awaited:
        return None
    _ = gettext_in(context.language())
    wanted = text if command is None else command[1] or ""
    status = labels.ask(context.session, context.clock, resident, wanted)
    if status == "empty":
        labels.prompt(context.session, context.clock, resident)
        return [
            text_message(
                _(
                    "新しい表示名を送ってください（{limit}文字まで）。例：3班 山田（12-3）\n"
                    "自治会の役員か班長がたしかめてから変わります。"
                ).format(limit=labels.LABEL_LIMIT)
            )
        ]
    texts = {
        "sent": _(
            "表示名の変更をお願いしました：{label}\n"
            "自治会の役員か班長がたしかめてから変わります。"
            "今の表示名は「わたしの情報」で見られます。"
        ),
        "too_long": _(
            "表示名は{limit}文字までにしてください。もう一度「表示名の変更」と送ってください。"
        ),
        "not_registered": _(
            "表示名を変えるには、先に自治会を登録してください。「設定」と送ると登録できます。"
        ),
    }
    own = labels.own(context.session, resident)
    reply = texts[status].format(label=own.requested or "", limit=labels.LABEL_LIMIT)
    return [text_message(reply, menu_items(_))]
