"""A circular's way out: the preview the author sees (the exact card, who and how many, the
quota, the paper copies), then send now, schedule, cancel, or correct (訂正) once it went.

Each checks `Scope.may_manage` and, for a circular that is not a correction, the draft's areas
again (a role may have been taken away since it was saved). LINE's remaining quota is read by
the edge before its transaction and handed in; functions flush and never commit.

    shown = preview(session, author, circular, remaining_quota)     # counts, quota, the card
    send_now(session, clock, author, circular, remaining_quota)     # -> release.Release
    schedule(session, clock, author, circular, when)
    cancel(session, clock, author, circular)
    fix = correct(session, clock, author, original, draft)           # a new draft (訂正)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars import budget as budget_service
from broadcasts.circulars import group_posts
from broadcasts.circulars.release import Release, release
from broadcasts.circulars.targeting import Target, reach
from broadcasts.circulars.translations import save as save_translations
from broadcasts.composing.drafts import (
    EDITABLE,
    CircularDraft,
    CompositionError,
    actor_id,
    check_card,
    check_target,
    check_urgent,
    require_manage,
    set_options,
    set_targets,
    validate,
)
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import StaffText
from broadcasts.delivery.monthly_quota import promised_elsewhere, short_of_quota
from broadcasts.households import paper
from broadcasts.schedule.rules import QuietHours, allowed_at
from broadcasts.staff import audit
from models import Circular, CircularStatus, StaffMember

# line-bot-sdk is imported where LINE is called or a message is built: its models are most of a
# process's start-up (bench/startup.py), and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import FlexMessage

# The furthest ahead a circular may be scheduled: a year covers every annual event.
SCHEDULE_HORIZON = timedelta(days=366)
# A circular that went out can be corrected, not changed.
CORRECTABLE = (CircularStatus.sending, CircularStatus.sent)
CORRECTION_PREFIX = "【訂正】"


@dataclass(frozen=True)
class PaperCopies:
    """Paper copies a circular needs: households on paper, per 班 (per association where it
    has no groups)."""

    @dataclass(frozen=True)
    class Row:
        association_id: int
        association: str
        group: str | None
        copies: int

    rows: tuple[Row, ...]

    @property
    def total(self) -> int:
        return sum(row.copies for row in self.rows)


@dataclass(frozen=True)
class Preview:
    """What the author sees before sending: the exact card, who and how many, and the cost."""

    card: FlexMessage | None
    recipients: int
    # LINE counts one message per recipient, however many bubbles a card has.
    quota_needed: int
    # LINE's remaining monthly quota, as the edge read it; None: the plan has no limit.
    remaining_quota: int | None
    # What is left of it once circulars already sending have used theirs.
    available: int | None
    # Why it cannot be sent now (Japanese), or None.
    problem: str | None
    paper: PaperCopies
    # The circular's whole life (card, reminders, notices) against the month; None when the
    # edge asked for the card's cost only.
    budget: budget_service.Budget | None = None
    # Members of each LINE group it will also be posted in (empty: none chosen or linked).
    group_members: tuple[int, ...] = ()

    @property
    def sendable(self) -> bool:
        return self.problem is None

    @property
    def overrun(self) -> str | None:
        """The flag shown before sending when the card fits but its follow-ups would not: they
        would be held for quota later in the month (Japanese)."""
        budget = self.budget
        if self.problem is not None or budget is None or not budget.overruns:
            return None
        return StaffText(
            "催促やお知らせまで含めると、今月のメッセージが足りません（今月分 %(month)s 通、"
            "使える残り %(available)s 通）。足りない分は保留になります",
            month=budget.this_month,
            available=max(budget.available or 0, 0),
        )


def preview(
    session: Session,
    author: StaffMember | None,
    circular: Circular,
    remaining_quota: int | None,
    public_url: str | None = None,
    *,
    clock: Clock | None = None,
    quiet: QuietHours | None = None,
) -> Preview:
    """The preview for `circular`. Read only; the recipient count comes from the same query
    release uses, so the number shown is the number sent (unless residents join or block in
    between). With `clock` and `quiet`, also its whole life against the month (budget)."""
    require_manage(session, author, circular)
    target = Target.of_circular(circular)
    recipients = reach(session, target).quota_messages
    groups = group_posts.groups_of(session, circular) if circular.line_group_post else []
    needed = recipients + sum(group.member_count for group in groups)
    available = None if remaining_quota is None else remaining_quota - promised_elsewhere(session)
    problem: str | None = None
    card: FlexMessage | None = None
    try:
        card = check_card(circular, public_url)
    except CompositionError as error:
        problem = error.message
    if problem is None and target.is_empty():
        problem = StaffText("届け先が選ばれていません")
    elif problem is None and recipients == 0:
        problem = StaffText("届け先に登録済みの住民がいません")
    elif problem is None and available is not None and available < needed:
        problem = short_of_quota(needed, available)
    return Preview(
        card=card,
        recipients=recipients,
        quota_needed=needed,
        group_members=tuple(group.member_count for group in groups),
        remaining_quota=remaining_quota,
        available=available,
        problem=problem,
        paper=paper_copies(session, circular),
        budget=(
            budget_service.of_circular(session, clock.now(), quiet, circular, remaining_quota)
            # A circular already released is past its budget: its page shows what it sent.
            if clock is not None and quiet is not None and circular.status in EDITABLE
            else None
        ),
    )


def quiet_until(clock: Clock, quiet: QuietHours, circular: Circular) -> datetime | None:
    """None when `circular`, sent now, may reach residents at once; else the end of the quiet
    hours it would arrive in (KAIRAN_QUIET_HOURS), the time the author is offered instead. An
    urgent circular has no quiet hours."""
    now = clock.now()
    later = allowed_at(now, quiet, circular.urgent)
    return later if later > now else None


def send_now(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    circular: Circular,
    remaining_quota: int | None,
) -> Release:
    """Release the circular now (the worker sends it after the caller commits)."""
    require_manage(session, author, circular)
    if circular.corrects_id is None:
        # Scope may have shrunk since the draft was saved (a role taken away).
        check_target(session, author, Target.of_circular(circular))
    circular.scheduled_at = None
    result = release(session, clock, circular, remaining_quota)
    if result.released:
        audit.record(
            session,
            clock,
            actor_id(author),
            "circular.sent",
            "circular",
            circular.id,
            recipients=result.recipients,
        )
    return result


def schedule(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    circular: Circular,
    when: datetime,
) -> Circular:
    """Let the scheduler release the circular at `when` (aware; in the future, within a year).

    A scheduled circular can still be edited, rescheduled or cancelled until it is released."""
    require_manage(session, author, circular)
    if circular.status not in EDITABLE:
        raise CompositionError("status", StaffText("送信済みや取り消した回覧は予約できません"))
    if when.tzinfo is None or when.utcoffset() is None:
        raise CompositionError("scheduled_at", StaffText("予約の日時が正しくありません"))
    now = clock.now()
    if when <= now:
        raise CompositionError("scheduled_at", StaffText("予約は先の日時にしてください"))
    if when > now + SCHEDULE_HORIZON:
        raise CompositionError("scheduled_at", StaffText("予約は1年以内にしてください"))
    if circular.corrects_id is None:
        check_target(session, author, Target.of_circular(circular))
    check_card(circular)
    circular.scheduled_at = when
    circular.status = CircularStatus.scheduled
    circular.hold_reason = None
    session.flush()
    audit.record(session, clock, actor_id(author), "circular.scheduled", "circular", circular.id)
    return circular


def cancel(
    session: Session, clock: Clock, author: StaffMember | None, circular: Circular
) -> Circular:
    """Withdraw a draft or scheduled circular. One already released cannot be called back:
    send a correction instead."""
    require_manage(session, author, circular)
    was = circular.status
    cancel_by_operator(session, clock, circular)
    if was is not CircularStatus.cancelled:
        audit.record(
            session, clock, actor_id(author), "circular.cancelled", "circular", circular.id
        )
    return circular


def cancel_by_operator(session: Session, clock: Clock, circular: Circular) -> Circular:
    """`cancel` for whoever runs `kairan` on the server (trusted like an admin)."""
    if circular.status is CircularStatus.cancelled:
        return circular
    if circular.status not in EDITABLE:
        raise CompositionError(
            "status", StaffText("送信を始めた回覧は取り消せません。訂正を送ってください")
        )
    circular.status = CircularStatus.cancelled
    circular.cancelled_at = clock.now()
    session.flush()
    return circular


def correct(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    original: Circular,
    draft: CircularDraft,
) -> Circular:
    """A correction (訂正) of a released circular: a new draft linked to the original that goes to
    exactly the residents the original went to (`draft.targets` is ignored). The title gets
    「【訂正】」 in front unless it has it. Send or schedule it like any circular."""
    require_manage(session, author, original)
    assert author is not None  # noqa: S101 - _require_manage refused None
    if original.status not in CORRECTABLE:
        raise CompositionError("status", StaffText("訂正できるのは送信した回覧だけです"))
    if original.corrects is not None:
        # A correction of a correction corrects the circular that went first.
        original = original.corrects
    title = draft.title.strip()
    if not title.startswith(CORRECTION_PREFIX):
        title = CORRECTION_PREFIX + title
    values = validate(clock, CircularDraft(**{**draft.__dict__, "title": title}))
    check_urgent(session, author, draft.urgent)
    correction = Circular(
        author_id=author.id,
        title=values.title,
        body=values.body,
        corrects_id=original.id,
        question=values.question,
        question_kind=values.question_kind,
        answer_deadline=values.answer_deadline,
        event_date=draft.event_date,
        confirmation_required=draft.confirmation_required,
        urgent=draft.urgent,
        one_per_household=draft.one_per_household,
    )
    session.add(correction)
    # The same area rows, for the card's header; the recipients come from the deliveries.
    set_targets(correction, Target.of_circular(original))
    correction.corrects = original
    set_options(session, correction, values.options)
    save_translations(correction, values.translations)
    session.flush()
    check_card(correction)
    audit.record(
        session,
        clock,
        author.id,
        "circular.composed",
        "circular",
        correction.id,
        corrects=original.id,
    )
    return correction


def corrections_of(session: Session, circular: Circular) -> list[Circular]:
    """Released corrections of `circular`, oldest first (for its detail page)."""
    return list(
        session.scalars(
            select(Circular)
            .where(Circular.corrects_id == circular.id, Circular.status.in_(CORRECTABLE))
            .order_by(Circular.released_at, Circular.id)
        )
    )


# --- paper copies --------------------------------------------------------------------------------


def paper_copies(session: Session, circular: Circular) -> PaperCopies:
    """How many paper copies the targeted areas need: per 班 where the association has groups
    (broadcasts.households.paper keeps them), else the association's count. A correction needs the
    original's copies."""
    target = Target.areas_of(circular)
    rows = paper.copies(
        session, list(target.district_ids), list(target.association_ids), list(target.group_ids)
    )
    return PaperCopies(
        tuple(PaperCopies.Row(r.association_id, r.association, r.group, r.copies) for r in rows)
    )
