"""One handler per LINE event type: parse the event, call a service, return the reply.

Handlers run inside the event's transaction and never call LINE themselves: the view replies
after the commit. The table at the end maps event types to handlers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from linebot.v3.messaging import Message
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    ImageMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)
from sqlalchemy.orm import Session

from broadcasts import archive_replies, composing_in_line, households_in_line, replies
from broadcasts.core.clock import Clock
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
    Menu,
    ProxyCircular,
    ProxyHousehold,
    RegistrationControl,
    Unregister,
    decode,
)
from broadcasts.residents import (
    acknowledgements,
    archive,
    join_codes,
    languages,
    links,
    registration,
)
from broadcasts.residents.registration import Profile
from broadcasts.rollout import activation
from broadcasts.staff import invites, logins
from linebot_app.dashboard.links import login_url
from linebot_app.extensions import settings
from models import Resident


@dataclass(frozen=True)
class EventContext:
    session: Session
    clock: Clock
    # The sender's LINE user id, already checked to look like one.
    user_id: str
    # Fetched before the transaction, for follow events only.
    profile: Profile | None = None
    # For staff composing in LINE: settings, and what was fetched from LINE beforehand.
    compose: composing_in_line.Edge | None = None
    # The resident once found: the view asks again after the handler, for its log line.
    _found: list[Resident] = field(default_factory=list, repr=False, compare=False)

    def resident(self) -> Resident | None:
        if not self._found:
            resident = registration.find_resident(self.session, self.user_id)
            if resident is None:
                return None  # the handler may register them yet: ask again next time
            self._found.append(resident)
        return self._found[0]

    def language(self, resident: Resident | None) -> str | None:
        if resident is not None:
            return resident.locale
        return self.profile.language if self.profile else None


Handler = Callable[[EventContext, Any], list[Message]]


class Command(enum.Enum):
    circulars = "circulars"
    settings = "settings"
    unregister = "unregister"
    help = "help"
    cancel = "cancel"
    login = "login"


# What residents type (or a rich-menu or quick-reply tap sends), matched after normalising
# width, kana and case.
_WORDS = {
    Command.circulars: ("回覧を見る", "回覧", "かいらん", "circulars"),
    Command.settings: ("設定", "せってい", "登録", "とうろく", "settings", "register"),
    Command.unregister: ("登録解除", "とうろくかいじょ", "解除", "unregister"),
    Command.help: ("ヘルプ", "help", "使い方", "つかいかた", "?", "？"),
    Command.cancel: ("やめる", "キャンセル", "cancel", "stop"),
    Command.login: ("ログイン", "ろぐいん", "login"),
}
COMMANDS = {
    registration.normalise(word): command for command, words in _WORDS.items() for word in words
}


def happened_at(event: Event) -> datetime:
    """LINE's event timestamp (milliseconds since the epoch) as aware UTC."""
    return datetime.fromtimestamp(event.timestamp / 1000, UTC)


def on_follow(context: EventContext, event: FollowEvent) -> list[Message]:
    outcome = registration.follow(
        context.session, context.clock, context.user_id, context.profile, happened_at(event)
    )
    if outcome is None:
        return []
    resident = context.resident()
    language = context.language(resident)
    note = activation.after_registration(context.session, resident, outcome, language)
    return replies.registration(outcome, language) + note


def on_unfollow(context: EventContext, event: UnfollowEvent) -> list[Message]:
    registration.unfollow(context.session, context.clock, context.user_id, happened_at(event))
    return []


def on_message(context: EventContext, event: MessageEvent) -> list[Message]:
    resident = context.resident()
    language = context.language(resident)
    composed = _composing(context, event, language)
    if composed is not None:
        return composed
    if not isinstance(event.message, TextMessageContent):
        return replies.help_message(language)
    text: str = event.message.text
    waiting = resident is not None and archive.take_prompt(context.session, context.clock, resident)
    command = COMMANDS.get(registration.normalise(text))
    if command is not None:
        return run(context, resident, command)
    # Codes before the archive: a family or join code sent right after 「検索」 is still a code.
    code = invites.CODE.typed(text)
    if code is not None:
        name = resident.display_name if resident else None
        redeemed = invites.redeem(context.session, context.clock, context.user_id, code, name)
        return replies.staff(redeemed, language)
    join_code = join_codes.typed_code(text)
    if join_code is not None:
        joined = join_codes.redeem(context.session, context.clock, context.user_id, join_code)
        if isinstance(joined, join_codes.UnknownCode):
            # The reply must not leave them without buttons: the registration they were in the
            # middle of, asked again, or the menu.
            ongoing = registration.resume(context.session, resident) if resident else None
            step = replies.registration(ongoing, language)[0] if ongoing else None
            return join_codes.unknown_reply(joined, language, then=step)
        return replies.registration(joined, language)
    household = households_in_line.handle_text(
        context.session, context.clock, context.user_id, text, language
    )
    if household is not None:
        return household
    if resident is not None:
        searched = archive.typed(context.session, context.clock, resident, text, waiting)
        if searched is not None:
            return archive_replies.archive(searched, language, _detail_links(resident.id))
        return replies.registration(registration.search(context.session, resident, text), language)
    return replies.help_message(language)


def _composing(
    context: EventContext, event: MessageEvent, language: str | None
) -> list[Message] | None:
    """「回覧作成」 and the messages of a staff member composing a circular; None otherwise."""
    edge = context.compose
    if edge is None:
        return None
    if isinstance(event.message, TextMessageContent):
        return composing_in_line.handle_text(
            context.session, context.clock, context.user_id, event.message.text, edge, language
        )
    if isinstance(event.message, ImageMessageContent):
        return composing_in_line.handle_image(
            context.session, context.clock, context.user_id, edge, language
        )
    return None


def run(context: EventContext, resident: Resident | None, command: Command) -> list[Message]:
    session = context.session
    language = context.language(resident)
    if command is Command.help:
        return replies.help_message(language)
    if command is Command.login:
        return login(context, language)
    if command is Command.settings:
        resident = resident or registration.ensure_resident(session, context.clock, context.user_id)
        steps = replies.registration(registration.start(session, resident), language)
        return [replies.language_choice(language), *steps]
    if resident is None:
        # Kairan holds nothing about this person: there is nothing to show, cancel or remove.
        outcome: registration.Outcome = (
            registration.Cancelled(None)
            if command is Command.cancel
            else registration.NotRegistered()
        )
        return replies.registration(outcome, language)
    if command is Command.cancel:
        return replies.registration(registration.cancel(session, resident), language)
    if command is Command.unregister:
        return replies.registration(registration.ask_unregister(session, resident), language)
    listed = archive.listing(session, resident, 0)
    return archive_replies.archive(listed, language, _detail_links(resident.id))


def login(context: EventContext, language: str | None) -> list[Message]:
    """A staff member gets a single-use dashboard link; anyone else the usual help."""
    member = logins.staff_with_roles(context.session, context.user_id)
    if member is None:
        return replies.help_message(language)
    issued = logins.issue(context.session, context.clock, member)
    url = login_url(settings().KAIRAN_PUBLIC_URL, issued.token)
    return replies.login_link(url, issued.expires_at, language)


_MENU = {"list": Command.circulars, "settings": Command.settings, "help": Command.help}


def on_postback(context: EventContext, event: PostbackEvent) -> list[Message]:
    session, clock = context.session, context.clock
    resident = context.resident()
    language = context.language(resident)
    match decode(event.postback.data):
        case ProxyCircular() | ProxyHousehold() as proxy:
            return households_in_line.handle_proxy(session, clock, context.user_id, proxy, language)
        case Menu(item):
            return run(context, resident, _MENU[item])
        case Confirm(circular_id) if resident is not None:
            result = acknowledgements.confirm(session, clock, resident, circular_id)
            return replies.confirmation(result, language)
        case Answer(circular_id, position) if resident is not None:
            answered = acknowledgements.answer(session, clock, resident, circular_id, position)
            return replies.answer(answered, language)
        case Details(circular_id) if resident is not None:
            text = acknowledgements.read_whole(session, clock, resident, circular_id)
            return replies.details(text, language, _detail_link(circular_id, resident.id))
        case Confirm() | Answer() | Details():
            return replies.confirmation("unknown", language)
        case (ComposeControl() | ComposeBrowse() | ComposeToggle()) as step if context.compose:
            return composing_in_line.handle_postback(
                session,
                clock,
                context.user_id,
                step,
                event.postback.params,
                context.compose,
                language,
            )
        case ArchivePage(page) if resident is not None:
            listed = archive.listing(session, resident, page)
            return archive_replies.archive(listed, language, _detail_links(resident.id))
        case ArchiveResults(page) if resident is not None:
            found = archive.results(session, resident, page)
            return archive_replies.archive(found, language, _detail_links(resident.id))
        case ArchiveFind() if resident is not None:
            asked = archive.ask_word(session, clock, resident)
            return archive_replies.archive(asked, language, _detail_links(resident.id))
        case Unregister() as answer if resident is not None:
            outcome = registration.unregister(session, clock, resident, answer)
            return replies.registration(outcome, language)
        case ChooseLanguage(choice):
            resident = resident or registration.ensure_resident(session, clock, context.user_id)
            return replies.language_chosen(languages.choose(session, resident, choice))
        case RegistrationControl("redo") if resident is None:
            return run(context, resident, Command.settings)
        case (
            DistrictPage()
            | ChooseDistrict()
            | AssociationPage()
            | ChooseAssociation()
            | GroupPage()
            | ChooseGroup()
            | RegistrationControl()
        ) as step if resident is not None:
            chosen = registration.choose(session, clock, resident, step)
            return replies.registration(chosen, language) + activation.after_registration(
                session, resident, chosen, language
            )
    # Forged, from an old version, or not meant for this resident: a polite word, no change.
    return replies.stale(language)


def _detail_link(circular_id: int, resident_id: int) -> str:
    """This resident's own signed link to the circular's page (the card, multicast, has none)."""
    configured = settings()
    token = links.detail_token(configured.SECRET_KEY.get_secret_value(), circular_id, resident_id)
    return links.detail_url(configured.KAIRAN_PUBLIC_URL, token)


def _detail_links(resident_id: int) -> archive_replies.DetailLink:
    return lambda circular_id: _detail_link(circular_id, resident_id)


HANDLERS: dict[type[Any], Handler] = {
    FollowEvent: on_follow,
    UnfollowEvent: on_unfollow,
    MessageEvent: on_message,
    PostbackEvent: on_postback,
}
