"""The statistics page of one circular, read at once: its counts in the viewer's scope, the
breakdown by area, the households and 班 it covered (paper included), the answers, the failures,
the reminders still to come, what the viewer may do with it, and LINE's own figures.

The page reads in one transaction and ends it before LINE is asked: no connection waits on the
network. The result holds plain values only, so it can be shown after that transaction ended.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.composing import drafts
from broadcasts.delivery.line import Line
from broadcasts.households import families, paper
from broadcasts.households.families import HouseholdCounts
from broadcasts.households.paper import Coverage
from broadcasts.schedule import holds
from broadcasts.schedule.reminders import scheduled
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff.scope import Scope
from broadcasts.stats import by_area, insight, respondents, responses
from broadcasts.stats.by_area import AreaRow
from broadcasts.stats.circular_counts import Counts
from broadcasts.stats.insight import LineStats
from broadcasts.stats.responses import Tally
from models import Circular, CircularStatus, QuestionKind, StaffMember


@dataclass(frozen=True, kw_only=True)
class CircularPage:
    circular_id: int
    title: str
    status: CircularStatus
    hold_reason: str | None
    # Slots (CARD, "reminder-1", …) held for the month's quota right now.
    held: tuple[str, ...]
    released_at: datetime | None
    now: datetime
    counts: Counts
    # Districts and associations, and the 班 of the association opened (`opened`) only: a
    # city-wide circular reaches ~1,500 班, and nobody reads that many rows (the CSV has them).
    rows: list[AreaRow]
    opened: int | None
    # Associations reached only on paper (no LINE resident yet): no row opens them.
    paper_only: list[tuple[int, str]]
    confirmations: list[tuple[datetime, int]]  # (hour, confirmations so far), UTC
    tallies: list[Tally]
    # The question's kind (None: no question), and for a headcount the people in all.
    question_kind: QuestionKind | None
    people: int | None
    failures: list[tuple[str, str, int]]
    households: HouseholdCounts
    coverage: list[Coverage]  # per 班 of the opened association, paper households included
    leads: set[int]  # of those 班, the ones whose paper households the viewer confirms for
    reminders: list[tuple[str, datetime]]  # (slot, when) still to come
    officer_of: list[int]  # associations whose residents the viewer may see by name
    can_edit: bool
    can_correct: bool
    # Paused (the card or a reminder met the monthly limit, or LINE refused the token).
    can_resume: bool
    line_stats: LineStats | None  # None: not released yet, or LINE did not answer

    @property
    def line_asked(self) -> bool:
        return self.released_at is not None

    @property
    def line_privacy_threshold(self) -> int:
        return insight.LINE_PRIVACY_THRESHOLD


def opened_association(
    rows: list[AreaRow], reached: list[tuple[int, str]], wanted: int | None
) -> int | None:
    """The association whose 班 are shown: the only one in view, else the one asked for if it
    is in view, else none."""
    in_view = {row.id for row in rows if row.level == "association"} | {a for a, _ in reached}
    in_view.discard(None)
    if len(in_view) == 1:
        return next(iter(in_view))
    return wanted if wanted in in_view else None


def read(
    session: Session,
    line: Line,
    now: datetime,
    scope: Scope,
    member: StaffMember,
    circular: Circular,
    wanted: int | None,
    quiet: QuietHours,
) -> CircularPage:
    """The page of `circular` (which the caller has checked `scope` sees) for `member`, with
    the 班 of association `wanted` when it is in view.

    Ends the session's transaction (a rollback: nothing here writes, and the caller must have
    nothing pending) before LINE is asked."""
    released_at = circular.released_at
    rows = by_area.breakdown(session, circular.id, scope)
    counts = by_area.total(rows)
    reached = paper.associations_reached(session, circular, scope) if released_at else []
    opened = opened_association(rows, reached, wanted)
    shown = [row for row in rows if row.level != "group" or row.association_id == opened]
    listed = {row.id for row in shown if row.level == "association"}
    coverage = (
        paper.coverage(session, circular, scope, opened)
        if released_at is not None and opened is not None
        else []
    )
    status = circular.status
    manages = scope.may_manage(session, circular)
    held = tuple(hold.slot for hold in holds.open_holds(session, circular.id))
    page = CircularPage(
        circular_id=circular.id,
        title=circular.title,
        status=status,
        hold_reason=circular.hold_reason,
        held=held,
        released_at=released_at,
        now=now,
        counts=counts,
        rows=shown,
        opened=opened,
        paper_only=[(a, name) for a, name in reached if a not in listed] if opened is None else [],
        confirmations=responses.confirmations_over_time(session, circular.id, scope),
        tallies=responses.answer_tallies(session, circular.id, scope),
        question_kind=circular.question_kind if circular.question else None,
        people=(
            respondents.people(session, circular.id, scope)
            if circular.question and circular.question_kind is QuestionKind.headcount
            else None
        ),
        failures=responses.failures(session, circular.id, scope),
        households=families.summary(session, circular.id, scope, by_area.alone(rows)),
        coverage=coverage,
        leads=scope.led_groups(session, (row.group_id for row in coverage)),
        reminders=[
            (slot, at)
            for slot, at in scheduled(session, circular, quiet)
            if at > now and status is not CircularStatus.cancelled
        ],
        officer_of=sorted(a for a in scope.association_ids if scope.sees_association(session, a)),
        can_edit=manages and status in drafts.EDITABLE,
        can_correct=manages and status in lifecycle.CORRECTABLE,
        can_resume=manages
        and (bool(held) or (status in lifecycle.CORRECTABLE and circular.hold_reason is not None)),
        line_stats=None,
    )
    # The read transaction ends before LINE is asked: no connection waits on the network.
    session.rollback()
    if released_at is None:
        return page
    today = now.astimezone(insight.TOKYO).date()
    line_stats = insight.line_statistics(line, page.circular_id, released_at, today)
    return replace(page, line_stats=line_stats)
