"""Composing a circular in LINE: what each step does with what the author sends.

title → body (several messages) → photos (optional) → target (only the author's own scope) →
question (optional) → 2–4 options → answer deadline (optional) → event date (optional) →
「確認しました」 asked or not → preview → send now, at the end of quiet hours, or at a chosen time.

Every value goes through `broadcasts.composing.drafts` (the dashboard's rules); before the
preview the whole draft is saved again through `drafts.save_draft`, which checks everything,
scope included. Each function flushes and returns what the step did as a small value (or raises
CompositionError or StepRefused); the chat (linebot_app/chat/composing.py) words it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.targeting import Target
from broadcasts.composing import attachments, drafts
from broadcasts.composing.sessions import cancel, discard
from broadcasts.core.clock import Clock, tokyo_today
from broadcasts.core.postbacks import ComposeBrowse, ComposeControl, ComposeToggle
from broadcasts.schedule.rules import QuietHours
from models import (
    AnswerOption,
    AttachmentKind,
    Circular,
    ComposeSession,
    ComposeStep,
    QuestionKind,
    StaffMember,
)

log = logging.getLogger(__name__)

TOKYO = ZoneInfo("Asia/Tokyo")

Refusal = Literal[
    "duplicate_option",
    "too_few_options",
    "no_targets",
    "pick_datetime",
    "future_datetime",
    "pick_date",
    "later_date",
]


class StepRefused(Exception):
    """What the author sent does not fit the step; nothing changed. The chat says why (`reason`)
    and asks again."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


# --- what a step did --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """Ask what the current step asks (after a move, a resume, a browse or a toggle)."""


@dataclass(frozen=True)
class Unusable:
    """A button that does not fit the current step: nothing changed."""


@dataclass(frozen=True)
class Cancelled:
    """The draft and the conversation are gone."""


@dataclass(frozen=True)
class StartAgain:
    """The draft was discarded for a new one: start as 「回覧作成」 does."""


@dataclass(frozen=True)
class BodyAdded:
    length: int


@dataclass(frozen=True)
class OptionAdded:
    label: str
    count: int
    # Enough options to go on (「次へ」 may be offered).
    enough: bool


@dataclass(frozen=True)
class WrongStep:
    """A photo sent at another step than the photos one."""


@dataclass(frozen=True)
class NoPhoto:
    """The photo's content could not be fetched from LINE."""


@dataclass(frozen=True)
class PhotoAdded:
    count: int


@dataclass(frozen=True)
class QuietNow:
    """「送信」 tapped in quiet hours (a chip from before they began): the author chooses now
    between their end, `later`, and sending at once."""

    later: datetime


@dataclass(frozen=True)
class QuotaUnknown:
    """LINE's remaining quota could not be read: nothing is sent without it."""

    later: datetime | None


@dataclass(frozen=True)
class NotReleased:
    reason: str
    later: datetime | None


@dataclass(frozen=True)
class Released:
    recipients: int


@dataclass(frozen=True)
class Scheduled:
    when: datetime


TextTaken = Ask | BodyAdded | OptionAdded
PhotoTaken = WrongStep | NoPhoto | PhotoAdded
TapTaken = (
    Ask
    | Unusable
    | Cancelled
    | StartAgain
    | QuietNow
    | QuotaUnknown
    | NotReleased
    | Released
    | Scheduled
)


def go(session: Session, state: ComposeSession, step: ComposeStep) -> Ask:
    """Move to `step` (the deadline only when there is a question to answer)."""
    state.step = step
    state.page = 0
    state.browsing = ""
    if step is ComposeStep.deadline and not state.circular.question:
        state.step = ComposeStep.event_date
    session.flush()
    return Ask()


# --- what the author sends ----------------------------------------------------------------------


def take_text(session: Session, clock: Clock, state: ComposeSession, text: str) -> TextTaken:
    """A text message at the current step. Raises CompositionError (the dashboard's rules) or
    StepRefused."""
    state.updated_at = clock.now()
    circular = state.circular
    if state.step is ComposeStep.title:
        circular.title = drafts.clean_title(text)
        return go(session, state, ComposeStep.body)
    if state.step is ComposeStep.body:
        joined = f"{circular.body}\n{text}" if circular.body else text
        circular.body = drafts.clean_body(joined)
        return BodyAdded(len(circular.body))
    if state.step is ComposeStep.question:
        circular.question = drafts.clean_question(text)
        circular.question_kind = QuestionKind.choice
        return go(session, state, ComposeStep.options)
    if state.step is ComposeStep.options:
        option = drafts.clean_option(text)
        if option in (o.label for o in circular.options):
            raise StepRefused("duplicate_option")
        circular.options.append(AnswerOption(position=len(circular.options) + 1, label=option))
        session.flush()
        if len(circular.options) >= drafts.MAX_OPTIONS:
            return go(session, state, ComposeStep.deadline)
        return OptionAdded(
            option, len(circular.options), len(circular.options) >= drafts.MIN_OPTIONS
        )
    # Steps answered with buttons: ask again.
    return Ask()


def add_photo(
    session: Session, clock: Clock, state: ComposeSession, photo: bytes | None, storage_dir: Path
) -> PhotoTaken:
    """A photo (its content, fetched by the edge; None if that failed), kept on the draft at the
    photos step. Raises CompositionError for a file the dashboard would refuse too."""
    state.updated_at = clock.now()
    if state.step is not ComposeStep.photos:
        return WrongStep()
    if photo is None:
        return NoPhoto()
    attachments.add_attachment(session, state.circular, "photo.jpg", photo, storage_dir)
    log.info("photo added to LINE draft %s", state.circular_id)
    return PhotoAdded(sum(a.kind is AttachmentKind.image for a in state.circular.attachments))


def take_tap(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    postback: ComposeControl | ComposeBrowse | ComposeToggle,
    params: dict[str, str],
    quiet: QuietHours,
    quota: int | None,
    quota_known: bool,
) -> TapTaken:
    """A button of the conversation (`params`: what a date or time picker chose; `quota`: LINE's
    remaining messages when `quota_known`, None meaning no limit). Raises CompositionError
    (NotPermitted when the author's scope no longer covers the draft) or StepRefused."""
    state.updated_at = clock.now()
    circular, step = state.circular, state.step
    match postback:
        case ComposeControl("cancel"):
            cancel(session, state)
            return Cancelled()
        case ComposeControl("resume"):
            return Ask()
        case ComposeControl("new"):
            discard(session, state)
            return StartAgain()
        case ComposeControl("next") if step is ComposeStep.body:
            drafts.clean_body(circular.body)
            return go(session, state, ComposeStep.photos)
        case ComposeControl("next" | "skip") if step is ComposeStep.photos:
            return go(session, state, ComposeStep.target)
        case ComposeBrowse(level, parent_id, page) if step is ComposeStep.target:
            state.browsing = f"{level}:{parent_id}"
            state.page = page
            return Ask()
        case ComposeToggle(level, area_id) if step is ComposeStep.target:
            _toggle(session, member, circular, level, area_id)
            return Ask()
        case ComposeControl("done") if step is ComposeStep.target:
            if not circular.targets:
                raise StepRefused("no_targets")
            return go(session, state, ComposeStep.question)
        case ComposeControl("skip") if step is ComposeStep.question:
            circular.question = None
            circular.question_kind = QuestionKind.choice
            circular.options.clear()
            circular.answer_deadline = None
            return go(session, state, ComposeStep.event_date)
        case ComposeControl("headcount" | "text") as kind if step is ComposeStep.options:
            # Answered with a number or a text instead of options: none are kept.
            circular.question_kind = QuestionKind(kind.word)
            circular.options.clear()
            return go(session, state, ComposeStep.deadline)
        case ComposeControl("next") if step is ComposeStep.options:
            if len(circular.options) < drafts.MIN_OPTIONS:
                raise StepRefused("too_few_options")
            return go(session, state, ComposeStep.deadline)
        case ComposeControl("deadline") if step is ComposeStep.deadline:
            circular.answer_deadline = _picked_datetime(params, clock)
            return go(session, state, ComposeStep.event_date)
        case ComposeControl("skip") if step is ComposeStep.deadline:
            circular.answer_deadline = None
            return go(session, state, ComposeStep.event_date)
        case ComposeControl("event") if step is ComposeStep.event_date:
            circular.event_date = _picked_date(params, clock)
            return go(session, state, ComposeStep.confirmation)
        case ComposeControl("skip") if step is ComposeStep.event_date:
            circular.event_date = None
            return go(session, state, ComposeStep.confirmation)
        case ComposeControl("yes" | "no") as answer if step is ComposeStep.confirmation:
            circular.confirmation_required = answer.word == "yes"
            # Everything once more through the rules the dashboard uses, scope included.
            drafts.save_draft(session, clock, member, drafts.draft_of(circular), circular)
            return go(session, state, ComposeStep.preview)
        case ComposeControl("send") if step is ComposeStep.preview:
            later = lifecycle.quiet_until(clock, quiet, circular)
            if later is not None:
                return QuietNow(later)
            return _send(session, clock, member, state, quiet, quota, quota_known)
        case ComposeControl("now") if step is ComposeStep.preview:
            return _send(session, clock, member, state, quiet, quota, quota_known)
        case ComposeControl("later") if step is ComposeStep.preview:
            later = lifecycle.quiet_until(clock, quiet, circular)
            if later is None:
                return _send(session, clock, member, state, quiet, quota, quota_known)
            return _schedule(session, clock, member, state, later)
        case ComposeControl("schedule") if step is ComposeStep.preview:
            return go(session, state, ComposeStep.schedule)
        case ComposeControl("at") if step is ComposeStep.schedule:
            return _schedule(session, clock, member, state, _picked_datetime(params, clock))
    return Unusable()


def _send(
    session: Session,
    clock: Clock,
    member: StaffMember,
    state: ComposeSession,
    quiet: QuietHours,
    quota: int | None,
    quota_known: bool,
) -> QuotaUnknown | NotReleased | Released:
    circular = state.circular
    if not quota_known:
        # Never send without knowing the quota: a circular must not stop half-way.
        return QuotaUnknown(lifecycle.quiet_until(clock, quiet, circular))
    result = lifecycle.send_now(session, clock, member, circular, quota)
    if not result.released:
        return NotReleased(result.reason or "", lifecycle.quiet_until(clock, quiet, circular))
    session.delete(state)
    session.flush()
    log.info("LINE draft %s released to %d residents", circular.id, result.recipients)
    return Released(result.recipients)


def _schedule(
    session: Session, clock: Clock, member: StaffMember, state: ComposeSession, when: datetime
) -> Scheduled:
    circular = state.circular
    lifecycle.schedule(session, clock, member, circular, when)
    session.delete(state)
    session.flush()
    log.info("LINE draft %s scheduled", circular.id)
    return Scheduled(when)


def _picked_datetime(params: dict[str, str], clock: Clock) -> datetime:
    """A datetime picker's choice, Japan time, in the future."""
    try:
        picked = datetime.strptime(params.get("datetime", ""), "%Y-%m-%dT%H:%M").replace(
            tzinfo=TOKYO
        )
    except ValueError:
        raise StepRefused("pick_datetime") from None
    if picked <= clock.now():
        raise StepRefused("future_datetime")
    return picked


def _picked_date(params: dict[str, str], clock: Clock) -> date:
    try:
        picked = date.fromisoformat(params.get("date", ""))
    except ValueError:
        raise StepRefused("pick_date") from None
    if picked < tokyo_today(clock):
        raise StepRefused("later_date")
    return picked


def _toggle(
    session: Session, member: StaffMember, circular: Circular, level: str, area_id: int
) -> None:
    one = {
        "d": Target.of(districts=[area_id]),
        "a": Target.of(associations=[area_id]),
        "g": Target.of(groups=[area_id]),
    }[level]
    # A forged id, or one outside the author's scope, is refused here, not just hidden.
    drafts.check_target(session, member, one)
    current = Target.of_circular(circular)

    def flip(ids: frozenset[int]) -> frozenset[int]:
        return ids ^ {area_id}

    drafts.set_targets(
        circular,
        Target(
            flip(current.district_ids) if level == "d" else current.district_ids,
            flip(current.association_ids) if level == "a" else current.association_ids,
            flip(current.group_ids) if level == "g" else current.group_ids,
        ),
    )
    session.flush()
