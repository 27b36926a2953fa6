"""The conversation's one routing table: what a person sends → the handler that answers.

Read `ROUTES` top to bottom: the first route that matches answers. A handler may decline (None)
and the walk goes on below it — a draft that ended elsewhere meanwhile, 「代理確認」 from someone
who leads no 班, a text that is no search — and four routes only take note and always decline
(a pending 「検索」, 「表示名の変更」, 「回答する」 or 「自治会へ」 is used up by any text). Words
match after normalising width, kana, case and spaces. A matcher reads what was sent and three
facts about the sender (`Facts`), nothing else, so the order is tested without LINE or a database
(tests/unit/chat/test_chat_routes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from linebot.v3.messaging import Message

from broadcasts.composing import sessions as compose_sessions
from broadcasts.core.postbacks import (
    Answer,
    ArchiveFind,
    ArchivePage,
    ArchiveResults,
    AssociationPage,
    ChooseAssociation,
    ChooseDistrict,
    ChooseGroup,
    ChooseLanguage,
    ComposeBrowse,
    ComposeControl,
    ComposeToggle,
    Confirm,
    Details,
    DistrictPage,
    GroupPage,
    Headcount,
    InviteInterest,
    LeaveInterest,
    Menu,
    ProxyCircular,
    ProxyHousehold,
    RegistrationControl,
    Respond,
    TypeCount,
    Unregister,
)
from broadcasts.core.text import typed_word
from broadcasts.households import families
from broadcasts.interest_groups.groups import CODE as INTEREST_CODE
from broadcasts.residents import join_codes
from broadcasts.rollout import line_groups
from broadcasts.staff import invites
from linebot_app.chat import (
    answers,
    archive,
    composing,
    groups,
    households,
    inbox,
    interest_groups,
    labels,
    privacy,
    registration,
    replies,
)
from linebot_app.chat.context import Context, Kind, Sent

T = TypeVar("T")


@dataclass(frozen=True)
class Facts:
    """What routing knows of the sender besides what they sent, read once per event."""

    # Kairan has a resident row for them.
    known: bool = False
    # The conversation can compose circulars (the webhook gave it what composing needs).
    composer: bool = False
    # They are staff with a circular half-composed in LINE.
    drafting: bool = False


Who = Callable[[Facts], bool]
Matcher = Callable[[Sent, Facts], T | None]


@dataclass(frozen=True)
class Route(Generic[T]):
    # What the route takes (None: not this route): the text, the code, the tap, or the Sent.
    matcher: Callable[[Sent, Facts], T | None]
    handler: Callable[[Context, T], list[Message] | None]


def anyone(_facts: Facts) -> bool:
    return True


def resident(facts: Facts) -> bool:
    return facts.known


def stranger(facts: Facts) -> bool:
    return not facts.known


def composer(facts: Facts) -> bool:
    return facts.composer


def drafting(facts: Facts) -> bool:
    return facts.drafting


def event(kind: Kind, who: Who = anyone) -> Matcher[Sent]:
    """A follow, an unfollow, an image, another message (a sticker, a location…)."""
    return lambda sent, facts: sent if sent.kind == kind and who(facts) else None


def text(who: Who = anyone) -> Matcher[str]:
    return lambda sent, facts: sent.text if sent.kind == "text" and who(facts) else None


@dataclass(frozen=True)
class Words:
    """One of these words, typed (or sent by a rich-menu or quick-reply tap): the text."""

    words: frozenset[str]
    who: Who = anyone

    def __call__(self, sent: Sent, facts: Facts) -> str | None:
        if sent.kind == "text" and sent.word in self.words and self.who(facts):
            return sent.text
        return None


def words(*typed: str, who: Who = anyone) -> Words:
    return Words(frozenset(typed_word(word) for word in typed), who)


def code(read: Callable[[str], str | None]) -> Matcher[str]:
    """A text that reads as a code of this kind (right or wrong): the code."""
    return lambda sent, _facts: read(sent.text) if sent.kind == "text" else None


def tap(*kinds: type[Any] | object, who: Who = anyone) -> Matcher[Any]:
    """A postback of one of these types, or equal to one of these values."""

    def matcher(sent: Sent, facts: Facts) -> Any:
        postback = sent.postback
        if postback is None or not who(facts):
            return None
        for kind in kinds:
            if isinstance(postback, kind) if isinstance(kind, type) else postback == kind:
                return postback
        return None

    return matcher


def compose_tap(sent: Sent, facts: Facts) -> Sent | None:
    """A button of the compose conversation: the handler reads the picker's choice too."""
    if not facts.composer or not isinstance(
        sent.postback, ComposeControl | ComposeBrowse | ComposeToggle
    ):
        return None
    return sent


# A circular's buttons: from someone Kairan does not know (any more), a polite word.
CIRCULAR_TAPS = (Confirm, Answer, Details, Respond, Headcount, TypeCount)

REGISTRATION_STEPS = (
    DistrictPage,
    ChooseDistrict,
    AssociationPage,
    ChooseAssociation,
    GroupPage,
    ChooseGroup,
    RegistrationControl,
)

# fmt: off
ROUTES: tuple[Route[Any], ...] = (
    # Friends added and blocked.
    Route(event("follow"), registration.on_follow),
    Route(event("unfollow"), registration.on_unfollow),

    # Taps. Those meant for residents need one: from anyone else they are stale.
    Route(tap(ProxyCircular, ProxyHousehold), households.on_proxy_tap),
    Route(tap(Menu("list")), archive.on_list),
    Route(tap(Menu("settings")), registration.on_settings),
    Route(tap(Menu("help")), replies.on_help),
    Route(tap(Confirm, who=resident), replies.on_confirm),
    Route(tap(Answer, who=resident), replies.on_answer),
    Route(tap(Details, who=resident), replies.on_details),
    Route(tap(Respond, who=resident), answers.on_respond),
    Route(tap(Headcount, who=resident), answers.on_headcount),
    Route(tap(TypeCount, who=resident), answers.on_type_count),
    Route(tap(*CIRCULAR_TAPS), replies.on_unknown_circular),
    Route(compose_tap, composing.on_tap),
    Route(tap(ArchivePage, who=resident), archive.on_page),
    Route(tap(ArchiveResults, who=resident), archive.on_results),
    Route(tap(ArchiveFind, who=resident), archive.on_find),
    Route(tap(Unregister, who=resident), registration.on_unregister_answer),
    Route(tap(LeaveInterest, who=resident), interest_groups.on_leave_tap),
    Route(tap(InviteInterest), interest_groups.on_invite_tap),
    Route(tap(ChooseLanguage), registration.on_language),
    Route(tap(RegistrationControl("redo"), who=stranger), registration.on_settings),
    Route(tap(*REGISTRATION_STEPS, who=resident), registration.on_step),
    # Forged, from an old version, or not meant for this person: a polite word, no change.
    Route(event("postback"), replies.on_stale),

    # Staff composing a circular: while a draft is open every text and photo is theirs.
    Route(words("回覧作成", "かいらんさくせい", "回覧をつくる", who=composer), composing.on_start),
    Route(words("取消", "取り消し", "とりけし", "やめる", who=drafting), composing.on_cancel),
    Route(text(who=drafting), composing.on_text),
    Route(event("image", who=drafting), composing.on_photo),
    # A resident's photo right after their message to the association joins it.
    Route(event("image", who=resident), inbox.on_photo),
    Route(event("image"), replies.on_help),
    Route(event("other"), replies.on_help),

    # From here on, texts. A pending 「検索」, 「表示名の変更」, 「回答する」 or 「自治会へ」
    # applies to the very next one only: used up now.
    Route(text(who=resident), archive.use_up_prompt),
    Route(text(who=resident), labels.use_up_prompt),
    Route(text(who=resident), answers.use_up_prompt),
    Route(text(who=resident), inbox.use_up_prompt),
    Route(words("回覧を見る", "回覧", "かいらん", "circulars"), archive.on_list),
    Route(words("設定", "せってい", "登録", "とうろく", "settings", "register"),
          registration.on_settings),
    Route(words("登録解除", "とうろくかいじょ", "解除", "unregister"), registration.on_unregister),
    Route(words("わたしの情報", "私の情報", "わたしのじょうほう", "my data"), privacy.on_my_data),
    Route(words("ヘルプ", "help", "使い方", "つかいかた", "?", "？"), replies.on_help),
    Route(words("やめる", "キャンセル", "cancel", "stop"), registration.on_cancel),
    Route(words("ログイン", "ろぐいん", "login"), replies.on_login),

    # Codes people copy from a chat or a flyer, before the archive: a code sent right after
    # 「検索」 is still a code.
    Route(code(invites.CODE.typed), replies.on_invite_code),
    Route(code(join_codes.typed_code), registration.on_join_code),
    Route(code(families.CODE.typed), households.on_family_code),
    Route(code(line_groups.typed_code), groups.on_code_in_own_chat),
    Route(code(INTEREST_CODE.typed), interest_groups.on_code),

    Route(words("家族を招待", "かぞくをしょうたい", "家族招待", "invite family"),
          households.on_invite),
    Route(words("世帯をぬける", "世帯を抜ける", "せたいをぬける", "leave household"),
          households.on_leave),
    Route(words("見守りをやめる", "みまもりをやめる", "watch-over off"), households.on_watch_off),
    Route(words("見守りを受ける", "みまもりをうける", "watch-over on"), households.on_watch_on),
    Route(words("代理確認", "だいりかくにん", "proxy"), households.on_proxy),
    Route(words(*interest_groups.LEAVE), interest_groups.on_leave),
    Route(words(*interest_groups.INVITE), interest_groups.on_invite),

    # Anything else a resident types: 「表示名の変更」 or the label it asked for, 「自治会へ」 or
    # the message it asked for, the answer awaited after 「回答する」, else a search (「検索
    # ことば」), else part of an area's name while registering, else help. A word or a code above
    # still means what it says, as after 「検索」.
    Route(text(who=resident), labels.on_typed),
    Route(text(who=resident), inbox.on_typed),
    Route(text(who=resident), answers.on_typed),
    Route(text(who=resident), archive.on_typed),
    Route(text(who=resident), registration.on_typed),
    Route(text(), replies.on_help),
)
# fmt: on


def facts(context: Context, sent: Sent) -> Facts:
    composer = context.compose is not None
    drafting = (
        composer
        and sent.kind in ("text", "image")
        and compose_sessions.active_step(context.session, context.user_id) is not None
    )
    return Facts(known=context.resident() is not None, composer=composer, drafting=drafting)


def matching(sent: Sent, known: Facts) -> Iterator[tuple[Route[Any], Any]]:
    """The routes that match, in order, each with what its matcher took."""
    for route in ROUTES:
        taken = route.matcher(sent, known)
        if taken is not None:
            yield route, taken


def answer(context: Context, sent: Sent) -> list[Message]:
    """The reply to what was sent (maybe none), its effects made in the caller's transaction."""
    for route, taken in matching(sent, facts(context, sent)):
        reply = route.handler(context, taken)
        if reply is not None:
            return reply
    return []
