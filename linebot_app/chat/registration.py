"""Following, registering and leaving in LINE: district → association → group → confirm, or a
join code from a flyer; the bot's language; 「登録解除」. What the registration service returned,
worded: the areas as paged quick replies, the confirmation, the notices that follow it.
"""

from __future__ import annotations

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    Message,
    PostbackAction,
    TextMessage,
)

from broadcasts.core import postbacks
from broadcasts.core.postbacks import (
    AssociationPage,
    ChooseAssociation,
    ChooseDistrict,
    ChooseGroup,
    ChooseLanguage,
    DistrictPage,
    GroupPage,
    Postback,
    RegistrationControl,
    Unregister,
)
from broadcasts.residents import join_codes, languages, privacy, registration
from broadcasts.residents.area_lists import Choose
from broadcasts.residents.registration import (
    AskConfirmation,
    AskUnregister,
    Cancelled,
    Nothing,
    NotRegistered,
    Outcome,
    Registered,
    Registration,
    Stale,
    Unregistered,
    WelcomeBack,
)
from broadcasts.rollout import activation
from linebot_app.chat.context import Context, Sent
from linebot_app.chat.replies import (
    Gettext,
    gettext_in,
    help_message,
    menu_items,
    quick_button,
    stale,
    text_message,
    typed_button,
)
from linebot_app.extensions import settings
from models import Resident

RegistrationStep = (
    DistrictPage
    | ChooseDistrict
    | AssociationPage
    | ChooseAssociation
    | GroupPage
    | ChooseGroup
    | RegistrationControl
)

# Each choice in its own language: a reader finds theirs whatever the bot speaks now.
LANGUAGE_NAMES: dict[postbacks.LanguageChoice, str] = {
    "ja": "日本語",
    "easy": "やさしい日本語",
    "en": "English",
}


# --- handlers -------------------------------------------------------------------------------------


def on_follow(context: Context, sent: Sent) -> list[Message]:
    outcome = registration.follow(
        context.session, context.clock, context.user_id, context.profile, sent.at
    )
    if outcome is None:
        return []
    language = context.language()
    return worded(outcome, language) + after_registration(context, outcome, language)


def on_unfollow(context: Context, sent: Sent) -> list[Message]:
    registration.unfollow(context.session, context.clock, context.user_id, sent.at)
    return []


def on_settings(context: Context, _sent: object) -> list[Message]:
    """「設定」: the bot's language, then the areas from the first step."""
    language = context.language()
    resident = context.resident() or registration.ensure_resident(
        context.session, context.clock, context.user_id
    )
    steps = worded(registration.start(context.session, resident), language)
    return [language_choice(language), *steps]


def on_cancel(context: Context, _sent: object) -> list[Message]:
    resident = context.resident()
    # Kairan holds nothing about a stranger: there is nothing to cancel.
    outcome = registration.cancel(context.session, resident) if resident else Cancelled(None)
    return worded(outcome, context.language())


def on_unregister(context: Context, _sent: object) -> list[Message]:
    """「登録解除」: asked first."""
    resident = context.resident()
    if resident is None:
        return worded(NotRegistered(), context.language())
    return worded(registration.ask_unregister(context.session, resident), context.language())


def on_unregister_answer(context: Context, answer: Unregister) -> list[Message]:
    language = context.language()
    outcome = registration.unregister(context.session, context.clock, _known(context), answer)
    return worded(outcome, language)


def on_language(context: Context, tap: ChooseLanguage) -> list[Message]:
    resident = context.resident() or registration.ensure_resident(
        context.session, context.clock, context.user_id
    )
    return language_chosen(languages.choose(context.session, resident, tap.language))


def on_step(context: Context, step: RegistrationStep) -> list[Message]:
    """A tap on an area, a page, 「はい」, 「やり直す」 or 「やめる」."""
    language = context.language()
    chosen = registration.choose(context.session, context.clock, _known(context), step)
    if isinstance(chosen, Registered):
        # 「はい」 was said below the privacy notice (the confirmation shows it).
        record_consent(context)
    return worded(chosen, language) + after_registration(context, chosen, language)


def on_typed(context: Context, text: str) -> list[Message]:
    """Text from a resident that nothing above took: part of an area's name narrows the list
    they are choosing from; otherwise help."""
    found = registration.search(context.session, _known(context), text)
    return worded(found, context.language())


def on_join_code(context: Context, code: str) -> list[Message]:
    """A flyer's join code: asked to confirm its association (and group), or told it is wrong
    — with the buttons of the registration step they were in, asked again, or the menu's."""
    language = context.language()
    resident = context.resident()
    joined = join_codes.redeem(context.session, context.clock, context.user_id, code)
    if not isinstance(joined, join_codes.UnknownCode):
        return worded(joined, language)
    ongoing = registration.resume(context.session, resident) if resident else None
    step = worded(ongoing, language)[0] if ongoing else None
    return unknown_code(joined, language, then=step)


def record_consent(context: Context) -> None:
    privacy.record_consent(_known(context), settings().privacy_version, context.clock.now())


def _known(context: Context) -> Resident:
    resident = context.resident()
    assert resident is not None  # noqa: S101 - routed for residents only
    return resident


# --- words ----------------------------------------------------------------------------------------


def worded(outcome: Outcome, language: str | None) -> list[Message]:
    """What the registration service returned, as the bot's reply."""
    _ = gettext_in(language)
    match outcome:
        case Choose():
            return [_choose(outcome, _)]
        case AskConfirmation(chosen):
            return [
                text_message(
                    _("この内容で登録します。よろしいですか？")
                    + "\n"
                    + _describe(chosen, _)
                    + "\n\n"
                    + privacy_notice(_),
                    [
                        quick_button(_("はい"), RegistrationControl("ok")),
                        quick_button(_("やり直す"), RegistrationControl("redo")),
                        quick_button(_("やめる"), RegistrationControl("cancel")),
                    ],
                )
            ]
        case Registered(chosen, watched):
            return [
                text_message(
                    _("登録しました。これから回覧をLINEでお届けします。")
                    + "\n"
                    + _describe(chosen, _)
                    + "\n"
                    + _("変えるときは「設定」と送ってください。")
                    + (watch_over_notice(_) if watched else ""),
                    # 「家族を招待」 sent as the resident's own words (chat.households).
                    [*menu_items(_), typed_button(_("家族を招待"), "家族を招待")],
                )
            ]
        case WelcomeBack(kept):
            return [
                text_message(
                    _("おかえりなさい。登録はそのままです。また回覧をお届けします。")
                    + "\n"
                    + _describe(kept, _),
                    menu_items(_),
                )
            ]
        case Cancelled(kept):
            if kept is None:
                text = _("やめました。登録するときは「設定」と送ってください。")
            else:
                text = _("やめました。登録は前のままです。") + "\n" + _describe(kept, _)
            return [text_message(text, menu_items(_))]
        case AskUnregister(kept):
            return [
                text_message(
                    _describe(kept, _)
                    + "\n"
                    + _(
                        "登録を解除すると、回覧が届かなくなり、お名前などの情報も消します。"
                        "解除しますか？"
                    ),
                    [
                        quick_button(_("解除する"), Unregister(confirmed=True)),
                        quick_button(_("やめる"), Unregister(confirmed=False)),
                    ],
                )
            ]
        case Unregistered():
            return [
                text_message(
                    _(
                        "登録を解除しました。ご利用ありがとうございました。\n"
                        "また使うときは「設定」と送ってください。"
                    )
                )
            ]
        case NotRegistered():
            return [
                text_message(
                    _("まだ登録されていません。登録するときは「設定」と送ってください。"),
                    menu_items(_),
                )
            ]
        case Stale():
            return stale(language)
        case Nothing():
            return help_message(language)


def privacy_notice(_: Gettext) -> str:
    """What is kept and why, shown before 「はい」 registers (KAIRAN_PRIVACY_NOTICE, or Kairan's
    own in the resident's language), and where the operator's policy is."""
    configured = settings()
    notice = configured.KAIRAN_PRIVACY_NOTICE or privacy.default_notice(_)
    if configured.KAIRAN_PRIVACY_POLICY_URL:
        notice += "\n" + _("くわしくは：{url}").format(url=configured.KAIRAN_PRIVACY_POLICY_URL)
    return notice


def watch_over_notice(_: Gettext) -> str:
    return "\n" + _(
        "この自治会では見守りをしています。回覧の確認がしばらくないと、班長さんが見る一覧に名前が出ます。"
        "いやなときは「見守りをやめる」と送ってください。"
    )


def preparing_note(district_name: str, language: str | None) -> TextMessage:
    """Told at registration in a district still preparing (段階的導入)."""
    _ = gettext_in(language)
    return TextMessage(
        text=_(
            "{name}では、LINEでの回覧はまだ準備中です。"
            "始まる日になったら、このLINEでお知らせします。それまでは、紙の回覧板をご覧ください。"
        ).format(name=district_name)
    )


def after_registration(context: Context, outcome: object, language: str | None) -> list[Message]:
    """What follows 「登録しました」 or 「おかえりなさい」 while the district is preparing."""
    resident = context.resident()
    if resident is None or not isinstance(outcome, Registered | WelcomeBack):
        return []
    name = activation.is_preparing(context.session, resident)
    return [] if name is None else [preparing_note(name, language)]


def unknown_code(
    outcome: join_codes.UnknownCode, language: str | None, then: TextMessage | None = None
) -> list[Message]:
    """The answer to a wrong join code, in one message that leaves the sender their buttons:
    those of `then` (the registration step they are in the middle of) or the menu's."""
    _ = gettext_in(language)
    if outcome.locked:
        text = _(
            "コードがちがう入力が続いたため、今日はコードで登録できません。"
            "「設定」と送ると、校区と自治会をえらんで登録できます。"
        )
    else:
        text = _(
            "このコードは見つかりませんでした。チラシのコード（8文字）をもう一度お確かめください。"
        )
    if then is not None:
        return [TextMessage(text=f"{text}\n\n{then.text}", quick_reply=then.quick_reply)]
    return [text_message(text, menu_items(_))]


def language_choice(language: str | None) -> FlexMessage:
    """The language chooser 「設定」 shows before the registration steps."""
    _ = gettext_in(language)
    text = _("ことばをえらべます。")
    bubble = FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text=text, wrap=True, size="md")]),
        footer=FlexBox(
            layout="vertical",
            spacing="sm",
            contents=[
                FlexButton(
                    style="secondary",
                    action=PostbackAction(
                        label=name,
                        data=postbacks.encode(ChooseLanguage(choice)),
                        display_text=name,
                    ),
                )
                for choice, name in LANGUAGE_NAMES.items()
            ],
        ),
    )
    return FlexMessage(alt_text=text, contents=bubble)


def language_chosen(locale: str) -> list[Message]:
    """The answer to a choice, already in the chosen language."""
    _ = gettext_in(locale)
    return [text_message(_("これから、このことばでお知らせします。"), menu_items(_))]


def _describe(chosen: Registration, _: Gettext) -> str:
    lines = [_("校区：{name}").format(name=chosen.district)]
    lines.append(_("自治会：{name}").format(name=chosen.association))
    if chosen.group:
        lines.append(_("班：{name}").format(name=chosen.group))
    return "\n".join(lines)


def _choose(choose: Choose, _: Gettext) -> TextMessage:
    lines: list[str] = []
    if choose.greeting:
        lines.append(_("友だち追加ありがとうございます。回覧板をLINEでお届けします。"))
    if choose.not_found:
        lines.append(_("「{query}」は見つかりませんでした。").format(query=choose.query))
    elif choose.truncated:
        lines.append(
            _("「{query}」でたくさん見つかりました。もう少しくわしく送ってください。").format(
                query=choose.query
            )
        )
    elif choose.query:
        lines.append(_("「{query}」で見つかったものです。").format(query=choose.query))
    prompts = {
        "district": _("お住まいの校区（小学校区）をえらんでください。"),
        "association": _("お住まいの自治会（町内会）をえらんでください。"),
        "group": _("班（組）をえらんでください。"),
    }
    lines.append(prompts[choose.kind])
    if choose.page_count > 1:
        lines.append(
            _("（{page}/{count}ページ）").format(page=choose.page + 1, count=choose.page_count)
        )
    if choose.kind != "group":
        # A 班 list is short and numbered (1班, 2班): nothing there to search by name.
        lines.append(_("名前の一部を送ると、さがせます（ひらがなでも大丈夫です）。"))
    items = [quick_button(option.name, _choice(choose, option.id)) for option in choose.options]
    if choose.page > 0:
        items.append(quick_button(_("前へ"), _page(choose, choose.page - 1)))
    if choose.page + 1 < choose.page_count:
        items.append(quick_button(_("次へ"), _page(choose, choose.page + 1)))
    items.append(quick_button(_("やめる"), RegistrationControl("cancel")))
    return text_message("\n".join(lines), items)


def _choice(choose: Choose, area_id: int) -> Postback:
    if choose.kind == "district":
        return ChooseDistrict(area_id)
    if choose.kind == "association":
        return ChooseAssociation(area_id)
    return ChooseGroup(area_id)


def _page(choose: Choose, page: int) -> Postback:
    if choose.kind == "district":
        return DistrictPage(page)
    assert choose.parent_id is not None  # noqa: S101 - association and group lists have one
    if choose.kind == "association":
        return AssociationPage(choose.parent_id, page)
    return GroupPage(choose.parent_id, page)
