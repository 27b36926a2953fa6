"""「わたしの情報」 (my data): what Kairan keeps about the person asking, worded for LINE. The
full disclosure (every field) is an admin's (`kairan residents export`, docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime

from linebot.v3.messaging import Message

from broadcasts.core.clock import TOKYO
from broadcasts.residents import privacy
from linebot_app.chat.context import Context
from linebot_app.chat.registration import privacy_notice
from linebot_app.chat.replies import Gettext, gettext_in, menu_items, text_message

LANGUAGE_NAMES = {"ja": "日本語", "ja-x-easy": "やさしい日本語", "en": "English"}


def on_my_data(context: Context, _text: str) -> list[Message]:
    language = context.language()
    _ = gettext_in(language)
    resident = context.resident()
    if resident is None:
        return [text_message(_("あなたについて保存している情報はありません。"), menu_items(_))]
    kept = privacy.summary(context.session, resident)
    return [
        text_message(worded(kept, _) + "\n" + inquiry_id(context.user_id, _), menu_items(_)),
        text_message(privacy_notice(_)),
    ]


def worded(kept: privacy.Summary, _: Gettext) -> str:
    none = _("なし")
    lines = [
        _("あなたについて保存している情報です。"),
        _("LINEの表示名：{name}").format(name=kept.display_name or none),
        _("世帯の表示名（役員・班長に見える名前）：{name}").format(name=kept.label or none),
        _("校区：{name}").format(name=kept.district or none),
        _("自治会：{name}").format(name=kept.association or none),
        _("班：{name}").format(name=kept.group or none),
        _("ことば：{name}").format(name=LANGUAGE_NAMES.get(kept.locale, kept.locale)),
        _("登録した日：{date}").format(date=_day(kept.registered_at) or none),
        _("個人情報の説明に同意した日：{date}").format(date=_day(kept.consented_at) or none),
        _("家族の世帯：{state}").format(state=_("あり") if kept.in_household else none),
        _("参加しているグループ：{names}").format(names="、".join(kept.interest_groups) or none),
        _("見守りの一覧：{state}").format(
            state=_("出さない") if kept.watch_over_opt_out else _("自治会の設定どおり")
        ),
        _(
            "届いた回覧 {deliveries}件、開いた回覧 {opens}件、"
            "確認 {confirmations}件、回答 {answers}件"
        ).format(
            deliveries=kept.deliveries,
            opens=kept.opens,
            confirmations=kept.confirmations,
            answers=kept.answers,
        ),
        _("消したいときは「登録解除」と送ってください。"),
    ]
    if kept.requested_label is not None:
        lines.insert(3, _("変更をお願い中の表示名：{name}").format(name=kept.requested_label))
    lines.insert(-1, _("表示名を変えたいときは「表示名の変更」と送ってください。"))
    return "\n".join(lines)


def inquiry_id(line_user_id: str, _: Gettext) -> str:
    """Residents do not know their LINE user id; an admin answering a request needs it."""
    return _(
        "LINEのユーザーIDも、回覧を届けるために保存しています。"
        "問い合わせのときは、このIDを伝えてください：{id}"
    ).format(id=line_user_id)


def _day(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d")
