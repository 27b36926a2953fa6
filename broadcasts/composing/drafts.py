"""Drafts: what an author writes, saved through the rules every front end (LINE, the
dashboard, the CLI) shares, on every write, whatever ids a form or postback carries.

The rules: the values (`validate`: lengths, question and options, dates, translations), the areas
(`check_target`: existing, started, inside the author's `Scope`), 至急 (`check_urgent`), and a
card LINE accepts (`check_card`). Who may touch which circular is `Scope.may_manage`. Functions
flush and never commit; nothing here talks to LINE or knows about Flask.

    draft = CircularDraft(title=..., body=..., targets=Target.of(associations=[3]))
    circular = save_draft(session, clock, author, draft)     # CompositionError, NotPermitted

Then attachments (broadcasts/composing/attachments.py) and the way out — preview, send, schedule,
cancel, correct (broadcasts/circulars/lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import OPTION_LIMIT, TranslationError, Version
from broadcasts.circulars.translations import clean as clean_translations
from broadcasts.circulars.translations import of_circular as translations_of
from broadcasts.circulars.translations import save as save_translations
from broadcasts.core.clock import Clock, tokyo_today
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.delivery.messages import UnsendableCircular, circular_card
from broadcasts.rollout import activation
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import (
    AnswerOption,
    Association,
    Circular,
    CircularInterestTarget,
    CircularStatus,
    CircularTarget,
    District,
    Group,
    InterestGroup,
    QuestionKind,
    StaffMember,
)

# line-bot-sdk is imported where LINE is called or a message is built: its models are most of a
# process's start-up (bench/startup.py), and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import FlexMessage

TITLE_LIMIT = 100
BODY_LIMIT = 10_000
QUESTION_LIMIT = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 4
# A circular can be changed (and attachments added) until it is released.
EDITABLE = (CircularStatus.draft, CircularStatus.scheduled)


class CompositionError(Refused):
    """A draft cannot be saved or acted on as asked.

    `field` names the input at fault (``title``, ``body``, ``targets``, ``options``, ``question``,
    ``answer_deadline``, ``event_date``, ``scheduled_at``, ``attachment``, ``status``, ``card``,
    ``urgent``, ``author``, ``translation:<language>``); `message` is for the author.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotPermitted(CompositionError):
    """The author may not do this at all (a resident, or someone outside the circular's scope).

    Web front ends answer 403 (or 404, to hide that the circular exists)."""

    def __init__(
        self, message: str = StaffText("この操作はできません（担当の範囲外です）")
    ) -> None:
        super().__init__("author", message)


@dataclass(frozen=True)
class CircularDraft:
    """What an author fills in. Strings are stripped; empty optional strings mean "none"."""

    title: str
    body: str
    targets: Target = field(default_factory=Target)
    question: str | None = None
    # A choice of `options`, a headcount or a short text (no options for those two).
    question_kind: QuestionKind = QuestionKind.choice
    options: Sequence[str] = ()
    # Aware datetimes (any zone); stored as UTC.
    answer_deadline: datetime | None = None
    # A day in Asia/Tokyo.
    event_date: date | None = None
    confirmation_required: bool = True
    urgent: bool = False
    one_per_household: bool = False
    # Also posted in the LINE groups linked to the associations it goes to (group_posts).
    line_group_post: bool = False
    # The author's やさしい日本語 version and translations (broadcasts/circulars/translations.py).
    translations: Sequence[Version] = ()


# --- rules every write checks ------------------------------------------------------------------


def check_target(session: Session, author: StaffMember | None, target: Target) -> None:
    """Raise unless every area of `target` exists and lies inside the author's scope.

    Unknown ids are refused like foreign ones: a forged id learns nothing.
    """
    scope = Scope.of_member(author)
    if not scope.may_compose:
        raise NotPermitted(StaffText("回覧を作れるのは、ICT推進員・自治会役員・管理者だけです"))
    if target.residents_of is not None:
        raise CompositionError("targets", StaffText("この届け先は訂正にだけ使えます"))
    if target.is_empty():
        raise CompositionError("targets", StaffText("届け先をえらんでください"))
    refused = CompositionError("targets", StaffText("担当の範囲外の届け先はえらべません"))
    found_districts = set(
        session.scalars(select(District.id).where(District.id.in_(target.district_ids)))
    )
    named_associations = target.association_ids | target.staff_association_ids
    found_associations = set(
        session.scalars(select(Association.id).where(Association.id.in_(named_associations)))
    )
    found_interest = set(
        session.scalars(
            select(InterestGroup.id).where(InterestGroup.id.in_(target.interest_group_ids))
        )
    )
    # `.all()`: a Result has keys() (its columns), so dict() would read it as a mapping.
    group_owners = dict(
        session.execute(
            select(Group.id, Group.association_id).where(Group.id.in_(target.group_ids))
        ).all()
    )
    if (
        found_districts != set(target.district_ids)
        or found_associations != set(named_associations)
        or found_interest != set(target.interest_group_ids)
        or set(group_owners) != set(target.group_ids)
    ):
        raise refused
    preparing = activation.preparing_districts(session, target)
    if preparing:
        raise CompositionError(
            "targets",
            StaffText(
                "%(districts)sはLINEでの回覧の準備中です。始まるまでは届け先にできません",
                districts="、".join(preparing),
            ),
        )
    if not scope.may_target(session, target):
        raise refused


def check_urgent(session: Session, author: StaffMember | None, urgent: bool) -> None:
    """至急 (delivered even in quiet hours) is for admins and promoters, not officers."""
    if not urgent:
        return
    if not Scope.of_member(author).may_send_urgent:
        raise CompositionError("urgent", StaffText("至急にできるのは、管理者とICT推進員だけです"))


def require_manage(session: Session, author: StaffMember | None, circular: Circular) -> None:
    if not Scope.of_member(author).may_manage(session, circular):
        raise NotPermitted()


def actor_id(author: StaffMember | None) -> int | None:
    return author.id if author is not None else None


# --- saving a draft ----------------------------------------------------------------------------


def save_draft(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    draft: CircularDraft,
    circular: Circular | None = None,
) -> Circular:
    """Create a draft circular, or update `circular` (a draft or a scheduled one) in place.

    Raises CompositionError (field, Japanese message) for the first problem found, and
    NotPermitted when the author may not compose or may not touch `circular`.
    """
    if circular is not None:
        require_manage(session, author, circular)
        if circular.status not in EDITABLE:
            raise CompositionError("status", StaffText("送信済みや取り消した回覧は変更できません"))
    assert author is not None or circular is None  # noqa: S101 - _require_manage refused None
    values = validate(clock, draft)
    if circular is None or circular.corrects_id is None:
        check_target(session, author, draft.targets)
    check_urgent(session, author, draft.urgent)
    created = circular is None
    if circular is None:
        assert author is not None  # noqa: S101 - check_target refused None
        circular = Circular(author_id=author.id, title=values.title, body=values.body)
        session.add(circular)
    circular.title = values.title
    circular.body = values.body
    circular.question = values.question
    circular.question_kind = values.question_kind
    circular.answer_deadline = values.answer_deadline
    circular.event_date = draft.event_date
    circular.confirmation_required = draft.confirmation_required
    circular.urgent = draft.urgent
    circular.one_per_household = draft.one_per_household
    if circular.corrects_id is None:
        set_targets(circular, draft.targets)
        circular.line_group_post = draft.line_group_post
    set_options(session, circular, values.options)
    save_translations(circular, values.translations)
    session.flush()
    check_card(circular)
    if created:
        audit.record(session, clock, actor_id(author), "circular.composed", "circular", circular.id)
    return circular


@dataclass(frozen=True)
class _Valid:
    title: str
    body: str
    question: str | None
    options: tuple[str, ...]
    answer_deadline: datetime | None
    translations: tuple[Version, ...]
    question_kind: QuestionKind = QuestionKind.choice


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise CompositionError("title", StaffText("題名を入れてください"))
    if len(title) > TITLE_LIMIT:
        raise CompositionError(
            "title",
            StaffText(
                "題名は%(limit)s文字までです（%(length)s文字）",
                limit=TITLE_LIMIT,
                length=len(title),
            ),
        )
    return title


def clean_body(text: str) -> str:
    body = text.strip()
    if not body:
        raise CompositionError("body", StaffText("本文を入れてください"))
    if len(body) > BODY_LIMIT:
        raise CompositionError(
            "body",
            StaffText(
                "本文は%(limit)s文字までです（%(length)s文字）", limit=BODY_LIMIT, length=len(body)
            ),
        )
    return body


def clean_question(text: str) -> str:
    question = text.strip()
    if not question:
        raise CompositionError("question", StaffText("質問を入れてください"))
    if len(question) > QUESTION_LIMIT:
        raise CompositionError(
            "question", StaffText("質問は%(limit)s文字までです", limit=QUESTION_LIMIT)
        )
    return question


def clean_option(text: str) -> str:
    option = " ".join(text.split())
    if not option or len(option) > OPTION_LIMIT:
        raise CompositionError(
            "options", StaffText("選択肢は1つ%(limit)s文字までです", limit=OPTION_LIMIT)
        )
    return option


def validate(clock: Clock, draft: CircularDraft) -> _Valid:
    """The draft's values cleaned up, or CompositionError for the first problem (no database)."""
    title = clean_title(draft.title)
    body = clean_body(draft.body)
    question = (draft.question or "").strip() or None
    options = tuple(" ".join(option.split()) for option in draft.options)
    options = tuple(option for option in options if option)
    if question is None and options:
        raise CompositionError("question", StaffText("選択肢があるときは、質問を入れてください"))
    kind = draft.question_kind if question is not None else QuestionKind.choice
    if kind is not QuestionKind.choice and options:
        raise CompositionError(
            "options", StaffText("人数や自由記述で答える質問には、選択肢はいりません")
        )
    if question is not None:
        question = clean_question(question)
    if question is not None and kind is QuestionKind.choice:
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise CompositionError(
                "options",
                StaffText(
                    "選択肢は%(least)sつから%(most)sつまでです", least=MIN_OPTIONS, most=MAX_OPTIONS
                ),
            )
        if any(len(option) > OPTION_LIMIT for option in options):
            raise CompositionError(
                "options", StaffText("選択肢は1つ%(limit)s文字までです", limit=OPTION_LIMIT)
            )
        if len(set(options)) != len(options):
            raise CompositionError("options", StaffText("同じ選択肢が2つあります"))
    deadline = draft.answer_deadline
    if deadline is not None:
        if question is None:
            raise CompositionError(
                "answer_deadline", StaffText("しめきりは質問があるときだけ使えます")
            )
        if deadline.tzinfo is None or deadline.utcoffset() is None:
            raise CompositionError("answer_deadline", StaffText("しめきりの日時が正しくありません"))
        if deadline <= clock.now():
            raise CompositionError("answer_deadline", StaffText("しめきりは先の日時にしてください"))
    if draft.event_date is not None and draft.event_date < tokyo_today(clock):
        raise CompositionError("event_date", StaffText("行事の日は今日以降にしてください"))
    try:
        versions = clean_translations(draft.translations, title, len(options))
    except TranslationError as error:
        raise CompositionError(f"translation:{error.language}", error.message) from None
    return _Valid(title, body, question, options, deadline, versions, kind)


def draft_of(circular: Circular) -> CircularDraft:
    """The circular's current values as a draft (to save it again through every rule)."""
    return CircularDraft(
        title=circular.title,
        body=circular.body,
        targets=Target.of_circular(circular) if circular.corrects_id is None else Target(),
        question=circular.question,
        question_kind=circular.question_kind,
        options=[option.label for option in circular.options],
        answer_deadline=circular.answer_deadline,
        event_date=circular.event_date,
        confirmation_required=circular.confirmation_required,
        urgent=circular.urgent,
        one_per_household=circular.one_per_household,
        line_group_post=circular.line_group_post,
        translations=translations_of(circular),
    )


def set_targets(circular: Circular, target: Target) -> None:
    """Replace the circular's target rows (the caller checked the target)."""
    wanted = (
        {("d", i) for i in target.district_ids}
        | {("a", i) for i in target.association_ids}
        | {("g", i) for i in target.group_ids}
    )
    kept = []
    for row in circular.targets:
        key = _target_key(row)
        if key in wanted:
            kept.append(row)
            wanted.discard(key)
    for kind, area_id in sorted(wanted):
        kept.append(
            CircularTarget(
                district_id=area_id if kind == "d" else None,
                association_id=area_id if kind == "a" else None,
                group_id=area_id if kind == "g" else None,
            )
        )
    circular.targets = kept
    wanted_interest = {("i", i) for i in target.interest_group_ids} | {
        ("s", i) for i in target.staff_association_ids
    }
    kept_interest = []
    for interest in circular.interest_targets:
        key = _interest_key(interest)
        if key in wanted_interest:
            kept_interest.append(interest)
            wanted_interest.discard(key)
    for kind, group_id in sorted(wanted_interest):
        kept_interest.append(
            CircularInterestTarget(
                interest_group_id=group_id if kind == "i" else None,
                staff_association_id=group_id if kind == "s" else None,
            )
        )
    circular.interest_targets = kept_interest


def _interest_key(row: CircularInterestTarget) -> tuple[str, int]:
    if row.interest_group_id is not None:
        return ("i", row.interest_group_id)
    assert row.staff_association_id is not None  # noqa: S101 - the table's CHECK guarantees one
    return ("s", row.staff_association_id)


def _target_key(row: CircularTarget) -> tuple[str, int]:
    if row.district_id is not None:
        return ("d", row.district_id)
    if row.association_id is not None:
        return ("a", row.association_id)
    assert row.group_id is not None  # noqa: S101 - the table's CHECK guarantees one area
    return ("g", row.group_id)


def set_options(session: Session, circular: Circular, labels: tuple[str, ...]) -> None:
    current = [option.label for option in circular.options]
    if current == list(labels):
        return
    circular.options.clear()
    # Delete before inserting: (circular_id, position) is unique.
    session.flush()
    circular.options.extend(
        AnswerOption(position=position, label=label) for position, label in enumerate(labels, 1)
    )


def check_card(circular: Circular, public_url: str | None = None) -> FlexMessage:
    """The card residents will get, or CompositionError("card", why it cannot be sent)."""
    try:
        return circular_card(circular, public_url)
    except UnsendableCircular as error:
        raise CompositionError("card", error.message) from None
