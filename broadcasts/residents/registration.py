"""Residents following, blocking and registering: district → association → group → confirm.

Each function takes a session and a clock, flushes and returns what happened as a small value
that the chat (linebot_app/chat/registration.py) words. The registration being chosen is kept in a
`Conversation`; a postback that does not fit its current step is stale and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.core.postbacks import (
    AssociationPage,
    ChooseAssociation,
    ChooseDistrict,
    ChooseGroup,
    DistrictPage,
    GroupPage,
    RegistrationControl,
    Unregister,
)
from broadcasts.core.text import typed_word
from broadcasts.households import watch_over
from broadcasts.residents import area_lists, languages, privacy
from broadcasts.residents.area_lists import Choose
from models import (
    Association,
    Conversation,
    ConversationStep,
    District,
    FollowStatus,
    Group,
    Resident,
)

LINE_USER_ID_LENGTH = 33


@dataclass(frozen=True)
class Profile:
    """What Kairan keeps from the resident's LINE profile."""

    display_name: str | None
    language: str | None


@dataclass(frozen=True)
class Registration:
    district: str
    association: str
    group: str | None


@dataclass(frozen=True)
class AskConfirmation:
    registration: Registration


@dataclass(frozen=True)
class Registered:
    registration: Registration
    # The association opted in to the watch-over hint: the resident is told (and how to opt out).
    watch_over: bool = False


@dataclass(frozen=True)
class WelcomeBack:
    registration: Registration


@dataclass(frozen=True)
class Cancelled:
    """The conversation ended; `kept` is the registration still in force, if any."""

    kept: Registration | None


@dataclass(frozen=True)
class AskUnregister:
    registration: Registration


@dataclass(frozen=True)
class Unregistered:
    pass


@dataclass(frozen=True)
class NotRegistered:
    pass


@dataclass(frozen=True)
class Stale:
    """A postback that does not fit where the conversation is: nothing changed."""


@dataclass(frozen=True)
class Nothing:
    """No conversation is waiting for typed text."""


Outcome = (
    Choose
    | AskConfirmation
    | Registered
    | WelcomeBack
    | Cancelled
    | AskUnregister
    | Unregistered
    | NotRegistered
    | Stale
    | Nothing
)


# --- residents ----------------------------------------------------------------------------------


# Built once: every webhook event asks it (SQLAlchemy reuses its cache key and compiled form).
FIND_RESIDENT = select(Resident).where(Resident.line_user_id == bindparam("line_user_id"))


def find_resident(session: Session, line_user_id: str) -> Resident | None:
    return session.scalars(FIND_RESIDENT, {"line_user_id": line_user_id}).first()


def ensure_resident(session: Session, clock: Clock, line_user_id: str) -> Resident:
    resident = find_resident(session, line_user_id)
    if resident is None:
        now = clock.now()
        resident = Resident(
            line_user_id=line_user_id, followed_at=now, created_at=now, updated_at=now
        )
        session.add(resident)
        session.flush()
    return resident


def is_registered(resident: Resident) -> bool:
    return resident.association_id is not None and resident.unregistered_at is None


def _out_of_order(resident: Resident, happened_at: datetime) -> bool:
    """LINE may redeliver a follow after a later unfollow (or the reverse): the older event
    must not undo the newer one. Each still counts as handled."""
    return resident.follow_changed_at is not None and happened_at < resident.follow_changed_at


def follow(
    session: Session,
    clock: Clock,
    line_user_id: str,
    profile: Profile | None,
    happened_at: datetime,
) -> WelcomeBack | Choose | None:
    """A follow or an unblock (`happened_at`: LINE's event timestamp): a registered resident
    keeps everything; anyone else starts registering. None when a later unfollow came first."""
    resident = ensure_resident(session, clock, line_user_id)
    if _out_of_order(resident, happened_at):
        return None
    # LINE's language is taken at the first follow; after that the resident's own choice in
    # 「設定」 (or that first language) stays, whatever their phone says when they unblock.
    first_follow = resident.follow_changed_at is None
    resident.follow_changed_at = happened_at
    if resident.follow_status is FollowStatus.blocked:
        resident.follow_status = FollowStatus.following
        resident.blocked_at = None
        resident.followed_at = clock.now()
    if profile is not None:
        resident.display_name = profile.display_name
        if first_follow:
            resident.locale = languages.on_follow(resident.locale, profile.language)
    session.flush()
    if is_registered(resident):
        _end_conversation(session, resident)
        return WelcomeBack(_registration_of(resident))
    choose = start(session, resident)
    return Choose(choose.kind, choose.options, choose.page, choose.page_count, greeting=True)


def unfollow(session: Session, clock: Clock, line_user_id: str, happened_at: datetime) -> bool:
    """Blocked residents get nothing until they unblock; their registration stays.
    False when Kairan does not know the user, or a later follow came first."""
    resident = find_resident(session, line_user_id)
    if resident is None or _out_of_order(resident, happened_at):
        return False
    resident.follow_changed_at = happened_at
    resident.follow_status = FollowStatus.blocked
    resident.blocked_at = clock.now()
    _end_conversation(session, resident)
    session.flush()
    return True


# --- registration -------------------------------------------------------------------------------


def start(session: Session, resident: Resident) -> Choose:
    """Begin (or begin again) choosing: the first page of districts."""
    _set_step(session, resident, ConversationStep.district)
    return area_lists.district_page(session, 0)


def resume(session: Session, resident: Resident) -> Choose | AskConfirmation | None:
    """Where an unfinished registration stands, asked again (the first page of its list, or the
    confirmation), so that a reply to something else does not leave the resident without its
    buttons. None when the resident is not registering."""
    conversation = session.get(Conversation, resident.id)
    if conversation is None:
        return None
    if conversation.step is ConversationStep.district:
        return area_lists.district_page(session, 0)
    if conversation.step is ConversationStep.association and conversation.district_id:
        return area_lists.association_page(session, conversation.district_id, 0)
    if conversation.step is ConversationStep.group and conversation.association_id:
        return area_lists.group_page(session, conversation.association_id, 0)
    if conversation.step is ConversationStep.confirm and conversation.association_id:
        return AskConfirmation(_registration_of_conversation(conversation))
    return None


def choose(
    session: Session,
    clock: Clock,
    resident: Resident,
    postback: DistrictPage
    | ChooseDistrict
    | AssociationPage
    | ChooseAssociation
    | GroupPage
    | ChooseGroup
    | RegistrationControl,
) -> Outcome:
    """One registration postback. Anything that does not fit the current step is Stale."""
    conversation = session.get(Conversation, resident.id)
    if isinstance(postback, RegistrationControl):
        return _control(session, clock, resident, conversation, postback)
    if conversation is None:
        return Stale()
    match postback:
        case DistrictPage(page) if conversation.step is ConversationStep.district:
            return area_lists.district_page(session, page)
        case ChooseDistrict(district_id) if conversation.step is ConversationStep.district:
            district = session.get(District, district_id)
            if district is None:
                return Stale()
            conversation.district_id = district.id
            conversation.step = ConversationStep.association
            session.flush()
            return area_lists.association_page(session, district.id, 0)
        case AssociationPage(district_id, page) if (
            conversation.step is ConversationStep.association
            and conversation.district_id == district_id
        ):
            return area_lists.association_page(session, district_id, page)
        case ChooseAssociation(association_id) if conversation.step is ConversationStep.association:
            association = session.get(Association, association_id)
            if association is None or association.district_id != conversation.district_id:
                return Stale()
            conversation.association_id = association.id
            conversation.group_id = None
            if association.groups:
                conversation.step = ConversationStep.group
                session.flush()
                return area_lists.group_page(session, association.id, 0)
            conversation.step = ConversationStep.confirm
            session.flush()
            return AskConfirmation(_registration_of_conversation(conversation))
        case GroupPage(association_id, page) if (
            conversation.step is ConversationStep.group
            and conversation.association_id == association_id
        ):
            return area_lists.group_page(session, association_id, page)
        case ChooseGroup(group_id) if conversation.step is ConversationStep.group:
            group = session.get(Group, group_id)
            if group is None or group.association_id != conversation.association_id:
                return Stale()
            conversation.group_id = group.id
            conversation.step = ConversationStep.confirm
            session.flush()
            return AskConfirmation(_registration_of_conversation(conversation))
    return Stale()


def _control(
    session: Session,
    clock: Clock,
    resident: Resident,
    conversation: Conversation | None,
    control: RegistrationControl,
) -> Outcome:
    if control.action == "redo":
        return start(session, resident)
    if control.action == "cancel":
        return cancel(session, resident)
    if conversation is None or conversation.step is not ConversationStep.confirm:
        return Stale()
    # "ok": the confirmed choice replaces whatever registration the resident had.
    resident.association_id = conversation.association_id
    resident.group_id = conversation.group_id
    resident.registered_at = clock.now()
    resident.unregistered_at = None
    registration = _registration_of_conversation(conversation)
    _end_conversation(session, resident)
    session.flush()
    return Registered(
        registration, watch_over.setting(session, resident.association_id) is not None
    )


def cancel(session: Session, resident: Resident) -> Cancelled:
    _end_conversation(session, resident)
    session.flush()
    return Cancelled(_registration_of(resident) if is_registered(resident) else None)


def search(session: Session, resident: Resident, text: str) -> Choose | Nothing:
    """Typed text while choosing narrows the list: part of a name, in kanji or kana."""
    conversation = session.get(Conversation, resident.id)
    if conversation is None or not typed_word(text):
        return Nothing()
    if conversation.step is ConversationStep.district:
        return area_lists.narrowed(session, "district", None, text)
    if conversation.step is ConversationStep.association and conversation.district_id:
        return area_lists.narrowed(session, "association", conversation.district_id, text)
    if conversation.step is ConversationStep.group and conversation.association_id:
        return area_lists.narrowed(session, "group", conversation.association_id, text)
    return Nothing()


def ask_unregister(session: Session, resident: Resident) -> AskUnregister | NotRegistered:
    if not is_registered(resident):
        return NotRegistered()
    _set_step(session, resident, ConversationStep.unregister)
    return AskUnregister(_registration_of(resident))


def unregister(
    session: Session, clock: Clock, resident: Resident, answer: Unregister
) -> Unregistered | Cancelled | Stale:
    """「登録解除」: remove the registration and what identifies the resident.

    The row itself stays, anonymous (privacy.anonymise): deliveries, opens and acknowledgements
    point at it, and the statistics of circulars already sent (how many in an association
    confirmed) must not change when one resident leaves. The row is marked blocked so no
    circular is ever addressed to it again. If the same person uses Kairan again they are a new
    resident.
    """
    conversation = session.get(Conversation, resident.id)
    if conversation is None or conversation.step is not ConversationStep.unregister:
        return Stale()
    if not answer.confirmed:
        return cancel(session, resident)
    privacy.anonymise(session, clock.now(), resident)
    return Unregistered()


# --- helpers ------------------------------------------------------------------------------------


def _set_step(session: Session, resident: Resident, step: ConversationStep) -> None:
    conversation = session.get(Conversation, resident.id)
    if conversation is None:
        conversation = Conversation(resident_id=resident.id, step=step)
        session.add(conversation)
    conversation.step = step
    conversation.district_id = None
    conversation.association_id = None
    conversation.group_id = None
    session.flush()


def _end_conversation(session: Session, resident: Resident) -> None:
    session.execute(delete(Conversation).where(Conversation.resident_id == resident.id))


def _registration_of(resident: Resident) -> Registration:
    association = resident.association
    assert association is not None  # noqa: S101 - callers check is_registered first
    return Registration(
        association.district.name, association.name, resident.group.name if resident.group else None
    )


def _registration_of_conversation(conversation: Conversation) -> Registration:
    association = conversation.association
    assert association is not None  # noqa: S101 - only called once an association is chosen
    group = conversation.group
    return Registration(association.district.name, association.name, group.name if group else None)
