"""The conversation's routing table: what a person sends reaches the right handler, and the order
decides between routes that both match (a draft in progress before ordinary words, codes before a
search, words before codes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.core.postbacks import (
    Answer,
    ArchivePage,
    ChooseDistrict,
    ComposeControl,
    Confirm,
    Menu,
    Postback,
    ProxyCircular,
    RegistrationControl,
)
from broadcasts.households import families
from broadcasts.residents import join_codes
from broadcasts.staff import invites
from linebot_app.chat import (
    answers,
    archive,
    composing,
    households,
    inbox,
    labels,
    privacy,
    registration,
    replies,
)
from linebot_app.chat.context import Kind, Sent
from linebot_app.chat.routes import ROUTES, Facts, Words, matching

AT = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
STRANGER = Facts()
RESIDENT = Facts(known=True)
STAFF = Facts(known=True, composer=True)
DRAFTING = Facts(known=True, composer=True, drafting=True)

join_code = st.text(alphabet=join_codes.ALPHABET, min_size=8, max_size=8).filter(
    lambda code: any(c.isdigit() for c in code)
)


def handlers(sent: Sent, facts: Facts) -> list[Any]:
    """The handlers that would be asked, in order (each may decline and pass to the next)."""
    return [route.handler for route, _taken in matching(sent, facts)]


def first(sent: Sent, facts: Facts) -> Any:
    return handlers(sent, facts)[0]


def tapped(postback: Postback | None) -> Sent:
    return Sent("postback", AT, postback=postback)


def family_code() -> str:
    return families.CODE.issue()[0]


def staff_code() -> str:
    return invites.CODE.issue()[0]


def test_a_join_code_is_a_code_for_anyone_but_an_author_with_a_draft_open() -> None:
    code = join_codes.printed(join_codes.new_code())
    assert first(Sent.typed(code), STRANGER) is registration.on_join_code
    # A resident's text uses up a pending 「検索」, 「表示名の変更」, 「回答する」 and 「自治会へ」
    # first (never answering), then the code wins over the search, the label, the answer or the
    # message to the association the same text would be right after them.
    asked = handlers(Sent.typed(code), RESIDENT)
    assert asked[:5] == [
        archive.use_up_prompt,
        labels.use_up_prompt,
        answers.use_up_prompt,
        inbox.use_up_prompt,
        registration.on_join_code,
    ]
    assert asked.index(registration.on_join_code) < asked.index(labels.on_typed)
    assert asked.index(registration.on_join_code) < asked.index(inbox.on_typed)
    assert asked.index(registration.on_join_code) < asked.index(answers.on_typed)
    assert asked.index(answers.on_typed) < asked.index(archive.on_typed)
    # While a draft is open, the text is its title, body or whatever the step asks.
    assert first(Sent.typed(code), DRAFTING) is composing.on_text


def test_a_family_code_and_a_staff_code_go_to_their_own_handlers() -> None:
    assert first(Sent.typed(family_code()), STRANGER) is households.on_family_code
    assert first(Sent.typed(staff_code()), STRANGER) is replies.on_invite_code
    assert first(Sent.typed(family_code()), DRAFTING) is composing.on_text


@pytest.mark.parametrize(
    ("text", "facts", "handler"),
    [
        # Words are matched in any width, kana or case.
        ("ヘルプ", RESIDENT, replies.on_help),
        ("ﾍﾙﾌﾟ", STRANGER, replies.on_help),
        ("Settings", STRANGER, registration.on_settings),
        ("ろぐいん", RESIDENT, replies.on_login),
        ("回覧を見る", RESIDENT, archive.on_list),
        ("登録解除", RESIDENT, registration.on_unregister),
        ("わたしの情報", RESIDENT, privacy.on_my_data),
        ("My Data", STRANGER, privacy.on_my_data),
        ("家族を招待", RESIDENT, households.on_invite),
        ("見守りをやめる", RESIDENT, households.on_watch_off),
        ("代理確認", RESIDENT, households.on_proxy),
        # 「やめる」 ends a draft in progress, otherwise the registration being chosen.
        ("やめる", RESIDENT, registration.on_cancel),
        ("やめる", STAFF, registration.on_cancel),
        ("やめる", DRAFTING, composing.on_cancel),
        ("取消", DRAFTING, composing.on_cancel),
        # Ordinary words are the draft's while one is open; 「回覧作成」 asks to resume it.
        ("ヘルプ", DRAFTING, composing.on_text),
        ("設定", DRAFTING, composing.on_text),
        ("回覧作成", DRAFTING, composing.on_start),
        ("回覧作成", STAFF, composing.on_start),
        # Without the webhook's compose edge the conversation cannot compose.
        # A resident's other text: 「表示名の変更」 (or the label it asked for), which declines
        # anything else, then a search.
        ("回覧作成", RESIDENT, labels.on_typed),
        ("回覧作成", STRANGER, replies.on_help),
        ("桜", RESIDENT, labels.on_typed),
        ("表示名の変更", RESIDENT, labels.on_typed),
        ("表示名の変更 山田", RESIDENT, labels.on_typed),
        # 「自治会へ」 is a resident's (labels.on_typed declines it, then inbox.on_typed takes it).
        ("自治会へ", STRANGER, replies.on_help),
    ],
)
def test_typed_words(text: str, facts: Facts, handler: Any) -> None:
    # Ahead of these, a resident's text (not a draft's) uses up a pending 「検索」,
    # 「表示名の変更」, 「回答する」 or 「自治会へ」; an answer is awaited only after 「回答する」
    # (the handler declines otherwise).
    waits = (
        archive.use_up_prompt,
        labels.use_up_prompt,
        answers.use_up_prompt,
        inbox.use_up_prompt,
        answers.on_typed,
    )
    answering = [h for h in handlers(Sent.typed(text), facts) if h not in waits]
    assert answering[0] is handler


def test_a_residents_other_text_is_a_search_then_a_registration_search_then_help() -> None:
    assert handlers(Sent.typed("桜町"), RESIDENT) == [
        archive.use_up_prompt,
        labels.use_up_prompt,
        answers.use_up_prompt,
        inbox.use_up_prompt,
        labels.on_typed,
        inbox.on_typed,
        answers.on_typed,
        archive.on_typed,
        registration.on_typed,
        replies.on_help,
    ]
    assert handlers(Sent.typed("桜町"), STRANGER) == [replies.on_help]
    # 「代理確認」 from someone who leads no 班 declines: the text goes on as a search.
    proxy = handlers(Sent.typed("代理確認"), RESIDENT)
    assert proxy.index(households.on_proxy) < proxy.index(archive.on_typed)


@pytest.mark.parametrize(
    ("kind", "facts", "asked"),
    [
        ("follow", STRANGER, [registration.on_follow]),
        ("unfollow", RESIDENT, [registration.on_unfollow]),
        # A photo is the draft's at its photos step; else a resident's message's to the
        # association, right after it; help when they decline, or for a stranger.
        ("image", DRAFTING, [composing.on_photo, inbox.on_photo, replies.on_help]),
        ("image", STAFF, [inbox.on_photo, replies.on_help]),
        ("image", STRANGER, [replies.on_help]),
        ("other", DRAFTING, [replies.on_help]),
    ],
)
def test_events_and_messages_that_are_no_text(kind: Kind, facts: Facts, asked: list[Any]) -> None:
    assert handlers(Sent(kind, AT), facts) == asked


@pytest.mark.parametrize(
    ("postback", "facts", "handler"),
    [
        (Confirm(1), RESIDENT, replies.on_confirm),
        (Confirm(1), STRANGER, replies.on_unknown_circular),
        (Answer(1, 2), STRANGER, replies.on_unknown_circular),
        (Menu("list"), STRANGER, archive.on_list),
        (Menu("help"), DRAFTING, replies.on_help),
        (ArchivePage(1), RESIDENT, archive.on_page),
        (ArchivePage(1), STRANGER, replies.on_stale),
        (RegistrationControl("redo"), STRANGER, registration.on_settings),
        (RegistrationControl("redo"), RESIDENT, registration.on_step),
        (RegistrationControl("ok"), STRANGER, replies.on_stale),
        (ChooseDistrict(3), RESIDENT, registration.on_step),
        (ComposeControl("next"), STAFF, composing.on_tap),
        (ComposeControl("next"), RESIDENT, replies.on_stale),
        (ProxyCircular(1, 2), STRANGER, households.on_proxy_tap),
        (None, RESIDENT, replies.on_stale),
    ],
)
def test_taps(postback: Postback | None, facts: Facts, handler: Any) -> None:
    assert first(tapped(postback), facts) is handler


def test_every_tap_ends_with_the_stale_answer_and_no_text_route_takes_a_tap() -> None:
    for facts in (STRANGER, RESIDENT, DRAFTING):
        assert handlers(tapped(None), facts) == [replies.on_stale]
        assert handlers(tapped(Confirm(1)), facts)[-1] is replies.on_stale


def test_no_word_is_in_two_routes_for_the_same_people() -> None:
    """Two `words` routes share a word only when they are for different senders (「やめる」:
    an open draft's, else the registration's); otherwise the first would hide the second."""
    seen: set[tuple[str, Any]] = set()
    for route in ROUTES:
        matcher = route.matcher
        if isinstance(matcher, Words):
            for word in matcher.words:
                assert (word, matcher.who) not in seen, word
                seen.add((word, matcher.who))


@given(join_code, st.sampled_from(["", "-", " ", "ー"]), st.booleans())
def test_any_join_code_however_typed_reaches_join_codes(
    code: str, separator: str, lower: bool
) -> None:
    typed = f"{code[:4]}{separator}{code[4:]}"
    typed = typed.lower() if lower else typed
    assert first(Sent.typed(typed), STRANGER) is registration.on_join_code
    assert first(Sent.typed(typed), DRAFTING) is composing.on_text


@given(st.text(max_size=30))
def test_any_text_while_drafting_is_the_drafts(text: str) -> None:
    assert first(Sent.typed(text), DRAFTING) in (
        composing.on_start,
        composing.on_cancel,
        composing.on_text,
    )


@given(st.text(max_size=30), st.sampled_from([STRANGER, RESIDENT, STAFF]))
def test_any_text_is_answered_at_last_by_help(text: str, facts: Facts) -> None:
    assert handlers(Sent.typed(text), facts)[-1] is replies.on_help
