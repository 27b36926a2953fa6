"""The clock process's work. Every tick looks in the database for what is due and not yet done
and does it, so a missed or crashed tick is caught up by the next one.

Like the worker, a tick is an edge: it owns its transactions, and calls LINE only between them.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import urllib3
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from broadcasts.circulars import compose_sessions
from broadcasts.circulars.compose import unreferenced_files
from broadcasts.circulars.release import quota_paused, release, release_follow_up
from broadcasts.core.clock import Clock
from broadcasts.delivery import line as line_api
from broadcasts.delivery import pushes, steps
from broadcasts.delivery.line import Line
from broadcasts.delivery.retry import Verdict
from broadcasts.residents import join_codes
from broadcasts.rollout import activation
from broadcasts.schedule.reminders import DueReminder, due_reminders
from broadcasts.schedule.rules import TOKYO, QuietHours, allowed_at, digest_due
from broadcasts.staff import terms
from broadcasts.staff.scope import Scope
from broadcasts.stats.circular_counts import summary
from models import (
    CARD,
    BatchStatus,
    Circular,
    CircularStatus,
    Delivery,
    JoinCodeFailure,
    LoginLink,
    OfficerDigest,
    ProcessedWebhookEvent,
    Role,
    SchedulerLease,
    StaffInvite,
    StaffMember,
    StaffRole,
)

log = logging.getLogger(__name__)

LEASE = "clock"
# Longer than a tick and its work; a clock that died is replaced after this.
LEASE_FOR = timedelta(seconds=90)
WEBHOOK_IDS_KEPT = timedelta(days=7)  # LINE redelivers for far less long
DIGEST_CIRCULARS_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class ClockSettings:
    quiet_hours: QuietHours
    dashboard_url: str
    # Where attachments are stored (KAIRAN_UPLOAD_DIR): housekeeping removes files no
    # attachment names. None: nothing to sweep.
    upload_dir: Path | None = None


@dataclass
class TickReport:
    ticked: bool = True
    resumed: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    reminders: list[DueReminder] = field(default_factory=list)
    digests: int = 0
    welcomes: int = 0
    terms_ended: int = 0


class Clockwork:
    """What one clock process does on every tick."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        line: Line,
        clock: Clock,
        settings: ClockSettings,
        holder: str,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.sessions = sessions
        self.line = line
        self.clock = clock
        self.settings = settings
        self.holder = holder
        self.random = random

    def tick(self) -> TickReport:
        with self.sessions() as session:
            leader = acquire_lease(session, self.clock, self.holder)
            session.commit()
        if not leader:
            return TickReport(ticked=False)
        report = TickReport()
        report.resumed = self.resume_quota_pauses()
        report.released = self.release_scheduled()
        report.reminders = self.release_reminders()
        # Before the digests: an officer whose term ended today gets none.
        report.terms_ended = self.end_terms()
        report.digests = self.send_digests()
        report.welcomes = activation.send_welcomes(
            self.sessions, self.line, self.clock, self.settings.quiet_hours, self.random
        )
        self.housekeeping()
        return report

    def step_down(self) -> None:
        """Give up the lease at a clean stop, so a restarted clock ticks at once."""
        with self.sessions() as session:
            session.execute(
                delete(SchedulerLease).where(
                    SchedulerLease.name == LEASE, SchedulerLease.holder == self.holder
                )
            )
            session.commit()

    def _remaining_quota(self) -> int | None:
        """LINE's quota, asked outside any transaction; None also when LINE cannot say (the
        engine's own 429 handling then pauses whatever meets the limit)."""
        from linebot.v3.messaging import ApiException

        try:
            return line_api.remaining_quota(self.line)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            log.warning("quota unavailable (%s)", type(error).__name__)
            return None

    def release_scheduled(self) -> list[int]:
        now = self.clock.now()
        with self.sessions() as session:
            due = [
                c.id
                for c in session.scalars(
                    select(Circular).where(
                        Circular.status == CircularStatus.scheduled,
                        Circular.scheduled_at <= now,
                    )
                )
                if allowed_at(c.scheduled_at, self.settings.quiet_hours, c.urgent) <= now  # type: ignore[arg-type]
            ]
        released = []
        for circular_id in due:
            remaining = self._remaining_quota()
            with self.sessions() as session:
                circular = session.get_one(Circular, circular_id)
                result = release(session, self.clock, circular, remaining)
                session.commit()
            if result.released:
                released.append(circular_id)
                log.info("circular %d released on schedule", circular_id)
            else:
                log.warning("circular %d not released: held", circular_id)
        return released

    def resume_quota_pauses(self) -> list[int]:
        """Lift the monthly limit's pauses that the quota now covers (next month, a raised
        plan), so no card or reminder waits for a person who need not decide anything."""
        from linebot.v3.messaging import ApiException

        with self.sessions() as session:
            paused = quota_paused(session)
        resumed = []
        for circular_id in paused:
            try:
                remaining = line_api.remaining_quota(self.line)
            except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
                # Unknown is not enough: the pause stays until LINE says the quota allows.
                log.warning("quota unavailable (%s)", type(error).__name__)
                break
            with self.sessions() as session:
                circular = session.get_one(Circular, circular_id)
                if steps.resume(session, circular, remaining) is None:
                    resumed.append(circular_id)
                    log.info("circular %d resumed: the quota covers it again", circular_id)
                session.commit()
        return resumed

    def release_reminders(self) -> list[DueReminder]:
        now = self.clock.now()
        with self.sessions() as session:
            due = due_reminders(session, now, self.settings.quiet_hours)
        done = []
        for reminder in due:
            remaining = self._remaining_quota()
            with self.sessions() as session:
                try:
                    released = release_follow_up(session, self.clock, reminder, remaining)
                    session.commit()
                except IntegrityError:
                    # Another clock released it at the same moment: the unique rows held.
                    session.rollback()
                    continue
            if released is None:
                log.warning(
                    "reminder %s of circular %d waits for quota",
                    reminder.slot,
                    reminder.circular_id,
                )
                continue
            done.append(reminder)
        return done

    def end_terms(self) -> int:
        """Remove every role whose term has ended (terms.end_due_roles): access ends at the end
        date without anyone acting, for people who never open the dashboard too."""
        with self.sessions() as session:
            ended = terms.end_due_roles(session, self.clock)
            session.commit()
        for role in ended:
            log.info("term ended: role %d of staff %d", role.role_id, role.staff_member_id)
        return len(ended)

    def send_digests(self) -> int:
        from linebot.v3.messaging import TextMessage

        now = self.clock.now()
        today = now.astimezone(TOKYO).date()
        if now >= digest_due(today):
            with self.sessions() as session:
                create_digests(session, today, now)
                session.commit()
        sent = 0
        while True:
            with self.sessions() as session:
                digest = next_digest(session, now)
                if digest is None:
                    return sent
                if not pushes.begin_attempt(digest, now):
                    session.commit()
                    continue
                member = session.get_one(StaffMember, digest.staff_member_id)
                text = digest_text(session, member, digest.day, self.settings.dashboard_url)
                digest_id, user_id, key = digest.id, member.line_user_id, digest.retry_key
                session.commit()
            if text is None:
                outcome = line_api.SendOutcome(line_api.Result.accepted, detail="nothing open")
            else:
                outcome = line_api.push(self.line, user_id, [TextMessage(text=text)], key)
            with self.sessions() as session:
                digest = session.get_one(OfficerDigest, digest_id)
                # A pause (quota) waits for tomorrow's digest.
                decision = pushes.record_outcome(
                    digest, outcome, now, self.random, timedelta(days=1)
                )
                session.commit()
            sent += decision.verdict is Verdict.accepted

    def housekeeping(self) -> None:
        from linebot.v3.messaging import TextMessage

        now = self.clock.now()
        with self.sessions() as session:
            notices = compose_sessions.discard_stale(session, self.clock)
            session.commit()
        for notice in notices:
            # A courtesy to the author; losing one to a LINE failure costs nothing.
            message = TextMessage(text=notice.text)
            outcome = line_api.push(self.line, notice.line_user_id, [message], uuid.uuid4())
            log.info(
                "stale draft notice to staff %d: %s", notice.staff_member_id, outcome.result.value
            )
        with self.sessions() as session:
            session.execute(
                delete(ProcessedWebhookEvent).where(
                    ProcessedWebhookEvent.received_at < now - WEBHOOK_IDS_KEPT
                )
            )
            session.execute(
                delete(StaffInvite).where(
                    StaffInvite.used_at.is_(None), StaffInvite.expires_at < now
                )
            )
            session.execute(delete(LoginLink).where(LoginLink.expires_at < now))
            # Wrong join codes only count within their window; older ones lock nothing.
            session.execute(
                delete(JoinCodeFailure).where(
                    JoinCodeFailure.attempted_at < now - join_codes.FAILURE_WINDOW
                )
            )
            session.commit()
        if self.settings.upload_dir is not None:
            with self.sessions() as session:
                unreferenced = unreferenced_files(session, now, self.settings.upload_dir)
            for path in unreferenced:
                path.unlink(missing_ok=True)
            if unreferenced:
                log.info("housekeeping: %d unreferenced upload(s) removed", len(unreferenced))


def acquire_lease(session: Session, clock: Clock, holder: str) -> bool:
    """Take or renew the clock lease; False while another live clock holds it."""
    now = clock.now()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(SchedulerLease)
        .values(name=LEASE, holder=holder, expires_at=now + LEASE_FOR)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    taken = session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == LEASE,
            or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now),
        )
        .values(holder=holder, expires_at=now + LEASE_FOR)
        .returning(SchedulerLease.name)
    ).first()
    return taken is not None


def create_digests(session: Session, day: date, now: datetime) -> None:
    """One digest row per officer (with a term running at `now`) for `day`; one with nothing
    open is closed without a message."""
    existing = set(
        session.scalars(select(OfficerDigest.staff_member_id).where(OfficerDigest.day == day))
    )
    officers = session.scalars(
        select(StaffRole.staff_member_id)
        .where(StaffRole.role == Role.officer, terms.in_force(now))
        .distinct()
    ).all()
    for member_id in officers:
        if member_id not in existing:
            session.add(OfficerDigest(staff_member_id=member_id, day=day))
    session.flush()


def next_digest(session: Session, now: datetime) -> OfficerDigest | None:
    return session.scalars(
        select(OfficerDigest)
        .where(
            OfficerDigest.status == BatchStatus.pending,
            OfficerDigest.day == now.astimezone(TOKYO).date(),
            or_(OfficerDigest.next_attempt_at.is_(None), OfficerDigest.next_attempt_at <= now),
        )
        .order_by(OfficerDigest.id)
        .limit(1)
    ).first()


def digest_text(session: Session, member: StaffMember, day: date, dashboard_url: str) -> str | None:
    """The officer's evening summary: their associations' circulars still open, counted as the
    dashboard counts them (`summary`). None: nothing to say today."""
    associations = frozenset(
        r.association_id for r in member.roles if r.role == Role.officer and r.association_id
    )
    scope = Scope(member.id, association_ids=associations)
    since = datetime.combine(day, datetime.min.time(), TOKYO) - DIGEST_CIRCULARS_WINDOW
    reached = select(Delivery.circular_id).where(Delivery.slot == CARD, scope.deliveries())
    circulars = session.scalars(
        select(Circular)
        .where(
            Circular.id.in_(reached),
            Circular.status.in_([CircularStatus.sending, CircularStatus.sent]),
            Circular.released_at >= since,
        )
        .order_by(Circular.released_at.desc())
        .limit(5)
    ).all()
    lines: list[str] = []
    for circular in circulars:
        counts = summary(session, circular.id, scope)
        lines.append(
            f"・{circular.title}：届いた {counts.delivered}人、見た {counts.opened}人、"
            f"確認 {counts.confirmed}人"
        )
    if not lines:
        return None
    return "\n".join(["【回覧の状況】今日の時点", *lines, f"くわしくは管理画面で：{dashboard_url}"])
