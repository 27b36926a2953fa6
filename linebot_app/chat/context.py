"""What the chat knows of one event: what was sent (`Sent`, read from LINE's event), by whom
(`Context`), and what answering it needs from LINE, fetched before its transaction opens.

Handlers run inside the event's transaction and never call LINE themselves: the webhook replies
after the commit. The look-ups that cannot wait — a new follower's profile, for staff composing
in LINE the photo just sent or the remaining quota, and a resident's photo right after their
message to the association — happen in `prepare`, before it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import urllib3
from linebot.v3.messaging import ApiException
from linebot.v3.webhooks import (
    FollowEvent,
    ImageMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)
from sqlalchemy.orm import Session

from broadcasts.composing import sessions as compose_sessions
from broadcasts.core.clock import Clock
from broadcasts.core.postbacks import ComposeBrowse, ComposeControl, ComposeToggle, Postback, decode
from broadcasts.core.text import typed_word
from broadcasts.delivery.line import remaining_quota
from broadcasts.inbox import writing
from broadcasts.residents import registration
from broadcasts.residents.registration import Profile
from broadcasts.schedule.rules import QuietHours
from linebot_app.extensions import line, settings, upload_dir
from models import ComposeStep, Resident

log = logging.getLogger(__name__)

# A follow's profile look-up must leave time for the reply within LINE's 2 s.
PROFILE_TIMEOUT = (0.5, 0.8)
# A photo a staff member sends while composing: larger, so a little longer.
CONTENT_TIMEOUT = (0.5, 1.2)

Kind = Literal["follow", "unfollow", "text", "image", "other", "postback"]


@dataclass(frozen=True)
class Sent:
    """What a person did or sent, in the shapes the routes match on."""

    kind: Kind
    # LINE's timestamp of the event.
    at: datetime
    # A text message as typed, and normalised for matching words (width, kana, case, spaces).
    text: str = ""
    word: str = ""
    # A tap: the postback Kairan wrote (None when it is not one), and what a picker chose.
    postback: Postback | None = None
    params: dict[str, str] | None = None
    # An image message's id, for its content.
    message_id: str | None = None

    @classmethod
    def typed(cls, text: str, at: datetime | None = None) -> Sent:
        return cls("text", at or datetime.now(UTC), text=text, word=typed_word(text))


def parse(event: Any) -> Sent | None:
    """What `event` is for the chat; None for events it does not handle (joins, beacons, …)."""
    if not isinstance(event, FollowEvent | UnfollowEvent | MessageEvent | PostbackEvent):
        return None
    at = datetime.fromtimestamp(event.timestamp / 1000, UTC)
    if isinstance(event, FollowEvent):
        return Sent("follow", at)
    if isinstance(event, UnfollowEvent):
        return Sent("unfollow", at)
    if isinstance(event, PostbackEvent):
        return Sent(
            "postback", at, postback=decode(event.postback.data), params=event.postback.params
        )
    if isinstance(event.message, TextMessageContent):
        return Sent.typed(event.message.text, at)
    if isinstance(event.message, ImageMessageContent):
        return Sent("image", at, message_id=event.message.id)
    return Sent("other", at)


@dataclass(frozen=True)
class Edge:
    """For staff composing in LINE: settings, and what was fetched from LINE beforehand."""

    public_url: str
    storage_dir: Path
    # KAIRAN_QUIET_HOURS: a send in them offers their end, or 「今すぐ送る」 as a choice.
    quiet: QuietHours
    # The content of the image message being handled, if it was fetched.
    photo: bytes | None = None
    # Whether LINE's remaining quota was read; `remaining_quota` None then means no limit.
    quota_known: bool = False
    remaining_quota: int | None = None


@dataclass
class Context:
    session: Session
    clock: Clock
    # The sender's LINE user id, already checked to look like one.
    user_id: str
    # Fetched before the transaction, for follow events only.
    profile: Profile | None = None
    # For staff composing in LINE (None: this conversation cannot compose).
    compose: Edge | None = None
    # A pending 「検索」 this text used up: the text is the word to search for.
    search_word_awaited: bool = False
    # A pending 「表示名の変更」 this text used up: the text is the label asked for.
    label_awaited: bool = False
    # A pending 「回答する」 this text used up: the text answers this circular's question.
    answer_awaited: int | None = None
    # A pending 「自治会へ」 this text used up: the text is the message to the association.
    inbox_awaited: bool = False
    # The resident once found: the webhook asks again after the handler, for its log line.
    _found: list[Resident] = field(default_factory=list, repr=False, compare=False)

    def resident(self) -> Resident | None:
        if not self._found:
            resident = registration.find_resident(self.session, self.user_id)
            if resident is None:
                return None  # the handler may register them yet: ask again next time
            self._found.append(resident)
        return self._found[0]

    def language(self) -> str | None:
        """The resident's language, or for someone Kairan does not know yet their LINE one."""
        resident = self.resident()
        if resident is not None:
            return resident.locale
        return self.profile.language if self.profile else None


def prepare(
    session: Session, clock: Clock, user_id: str, sent: Sent, handled_before: Callable[[], bool]
) -> Context:
    """The event's context, with what LINE must tell first fetched now, before the transaction
    (never inside it). `handled_before` is asked for follows only: a follow handled already
    needs no profile."""
    profile = None
    if sent.kind == "follow" and not handled_before():
        profile = _profile(user_id)
    return Context(session, clock, user_id, profile, _compose_edge(session, clock, sent, user_id))


def _profile(user_id: str) -> Profile | None:
    """The resident's name and language. Without it the resident gets Japanese and no name,
    which is fine: the follow itself must not fail because LINE was slow."""
    client = line()
    try:
        profile = client.api.get_profile(user_id, _request_timeout=PROFILE_TIMEOUT)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("profile look-up failed (%s)", type(error).__name__)
        return None
    return Profile(display_name=profile.display_name, language=profile.language)


def _compose_edge(session: Session, clock: Clock, sent: Sent, user_id: str) -> Edge:
    """The photo just sent, at the photos step or right after a resident's message to their
    association; the remaining quota, on the steps that show or spend it. A failed fetch
    leaves it out: the conversation then asks again rather than guessing."""
    configured = settings()
    edge = Edge(
        public_url=configured.KAIRAN_PUBLIC_URL,
        storage_dir=upload_dir(),
        quiet=QuietHours.parse(configured.KAIRAN_QUIET_HOURS),
    )
    is_photo = sent.kind == "image"
    is_compose_tap = isinstance(sent.postback, ComposeControl | ComposeBrowse | ComposeToggle)
    if not (is_photo or is_compose_tap):
        # Texts, confirmations and answers need nothing from LINE: no query, no wait.
        return edge
    step = compose_sessions.active_step(session, user_id)
    # A resident's photo right after their message to the association (「自治会へ」).
    wanted_by_inbox = is_photo and step is None and _inbox_awaits_photo(session, clock, user_id)
    session.rollback()  # end the read: no transaction stays open while LINE answers
    client = dataclasses.replace(line(), timeout=PROFILE_TIMEOUT)
    photo: bytes | None = None
    quota_known, remaining = False, None
    try:
        if (step is ComposeStep.photos or wanted_by_inbox) and is_photo:
            photo = bytes(
                client.blob.get_message_content(sent.message_id, _request_timeout=CONTENT_TIMEOUT)
            )
        if step in compose_sessions.QUOTA_STEPS and is_compose_tap:
            remaining, quota_known = remaining_quota(client), True
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("compose prefetch failed (%s)", type(error).__name__)
    return dataclasses.replace(
        edge, photo=photo, quota_known=quota_known, remaining_quota=remaining
    )


def _inbox_awaits_photo(session: Session, clock: Clock, user_id: str) -> bool:
    resident = registration.find_resident(session, user_id)
    return resident is not None and (
        writing.awaits_photo(session, resident.id, clock.now()) is not None
    )
