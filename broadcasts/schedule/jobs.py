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
from datetime import datetime, timedelta
from pathlib import Path

import urllib3
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from broadcasts.circulars import group_posts
from broadcasts.circulars.release import release
from broadcasts.composing import sessions as compose_sessions
from broadcasts.composing.attachments import unreferenced_files
from broadcasts.core.clock import TOKYO, Clock
from broadcasts.delivery import line as line_api
from broadcasts.delivery import monthly_quota, pushes
from broadcasts.delivery.line import Line
from broadcasts.delivery.monthly_quota import quota_paused
from broadcasts.inbox import notices, writing
from broadcasts.residents import join_codes, privacy
from broadcasts.rollout import activation
from broadcasts.schedule import digests, holds
from broadcasts.schedule.reminders import (
    DueReminder,
    Shortfall,
    due_reminders,
    release_follow_up,
)
from broadcasts.schedule.rules import QuietHours, allowed_at, digest_due
from broadcasts.staff import terms
from models import (
    CARD,
    Circular,
    CircularStatus,
    JoinCodeFailure,
    LoginLink,
    ProcessedWebhookEvent,
    SchedulerLease,
    StaffInvite,
)

log = logging.getLogger(__name__)

LEASE = "clock"
# Longer than a tick and its work; a clock that died is replaced after this.
LEASE_FOR = timedelta(seconds=90)
WEBHOOK_IDS_KEPT = timedelta(days=7)  # LINE redelivers for far less long


@dataclass(frozen=True)
class ClockSettings:
    quiet_hours: QuietHours
    dashboard_url: str
    # Where attachments are stored (KAIRAN_UPLOAD_DIR): housekeeping removes files no
    # attachment names. None: nothing to sweep.
    upload_dir: Path | None = None
    # Residents who blocked the bot this long ago are anonymised (KAIRAN_RETENTION_DAYS).
    retention: timedelta = timedelta(days=180)


@dataclass
class TickReport:
    ticked: bool = True
    resumed: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    reminders: list[DueReminder] = field(default_factory=list)
    digests: int = 0
    welcomes: int = 0
    hold_notices: int = 0
    group_posts: int = 0
    inbox_pushes: int = 0
    anonymised: list[int] = field(default_factory=list)
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
        report.welcomes = self.send_welcomes()
        report.hold_notices = self.send_hold_notices()
        report.group_posts = self.send_group_posts()
        report.inbox_pushes = self.send_inbox_pushes()
        self.housekeeping()
        report.anonymised = self.anonymise_blocked()
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
                if result.available is not None:
                    holds.hold(
                        session, self.clock, circular_id, CARD, result.recipients, result.available
                    )
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
            # The pauses the worker met since the last tick become holds, told once.
            holds.hold_pauses(session, self.clock, paused)
            session.commit()
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
                if monthly_quota.resume(session, circular, remaining) is None:
                    resumed.append(circular_id)
                    log.info("circular %d resumed: the quota covers it again", circular_id)
                session.commit()
        return resumed

    def release_reminders(self) -> list[DueReminder]:
        now = self.clock.now()
        with self.sessions() as session:
            due = due_reminders(session, now, self.settings.quiet_hours)
        done = self._release_follow_ups(due)
        # Holds whose cause is gone (released, resumed, superseded, cancelled) end.
        with self.sessions() as session:
            holds.settle(
                session, self.clock, due_reminders(session, now, self.settings.quiet_hours)
            )
            session.commit()
        return done

    def _release_follow_ups(self, due: list[DueReminder]) -> list[DueReminder]:
        """Each due follow-up released whole, or held for quota (told once)."""
        done: list[DueReminder] = []
        for reminder in due:
            remaining = self._remaining_quota()
            with self.sessions() as session:
                try:
                    released = release_follow_up(session, self.clock, reminder, remaining)
                    if isinstance(released, Shortfall):
                        holds.hold(
                            session,
                            self.clock,
                            reminder.circular_id,
                            reminder.slot,
                            released.needed,
                            released.available,
                        )
                    session.commit()
                except IntegrityError:
                    # Another clock released it at the same moment: the unique rows held.
                    session.rollback()
                    continue
            if isinstance(released, Shortfall):
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
        now = self.clock.now()
        today = now.astimezone(TOKYO).date()
        if now >= digest_due(today):
            with self.sessions() as session:
                digests.create(session, today, now)
                session.commit()
        url = self.settings.dashboard_url
        # A pause (quota) waits for tomorrow's digest.
        return pushes.send_due(
            self.sessions,
            self.line,
            now,
            digests.next_due,
            lambda session, digest: digests.push(session, digest, url),
            self.random,
            timedelta(days=1),
        )

    def send_welcomes(self) -> int:
        now = self.clock.now()
        # Welcomes wait outside quiet hours like any message to residents.
        if allowed_at(now, self.settings.quiet_hours, urgent=False) > now:
            return 0
        # A pause (quota) waits an hour; the key stays safe for a day.
        return pushes.send_due(
            self.sessions,
            self.line,
            now,
            activation.next_welcome,
            activation.welcome_push,
            self.random,
            timedelta(hours=1),
            limit=activation.WELCOMES_PER_TICK,
        )

    def send_hold_notices(self) -> int:
        """Tell the author and the admins of each new quota hold, once each. Staff alerts, not
        residents' messages: no quiet hours. A notice the monthly limit meets waits an hour."""
        url = self.settings.dashboard_url
        return pushes.send_due(
            self.sessions,
            self.line,
            self.clock.now(),
            holds.next_notice,
            lambda session, notice: holds.notice_push(session, notice, url),
            self.random,
            timedelta(hours=1),
        )

    def send_group_posts(self) -> int:
        """Post released circulars in their associations' LINE groups, once each (each post's
        retry key). Released already at an allowed time: no quiet hours of its own. A post the
        monthly limit meets waits an hour."""
        return pushes.send_due(
            self.sessions,
            self.line,
            self.clock.now(),
            group_posts.next_due,
            group_posts.post_push,
            self.random,
            timedelta(hours=1),
        )

    def send_inbox_pushes(self) -> int:
        """The inbox's notices to officers (staff alerts: no quiet hours) and officers' answers
        to residents (outside quiet hours, like any message to residents). One the monthly
        limit meets waits an hour."""
        now = self.clock.now()
        url = self.settings.dashboard_url
        sent = pushes.send_due(
            self.sessions,
            self.line,
            now,
            notices.next_notice,
            lambda session, push: notices.notice_push(session, push, url),
            self.random,
            timedelta(hours=1),
        )
        if allowed_at(now, self.settings.quiet_hours, urgent=False) > now:
            return sent
        return sent + pushes.send_due(
            self.sessions,
            self.line,
            now,
            notices.next_answer,
            notices.answer_push,
            self.random,
            timedelta(hours=1),
        )

    def anonymise_blocked(self) -> list[int]:
        """The retention period (docs/privacy.md): residents who blocked the bot longer ago
        than it are anonymised, a bounded number per transaction until none is left."""
        anonymised: list[int] = []
        while True:
            with self.sessions() as session:
                done = privacy.anonymise_blocked(session, self.clock, self.settings.retention)
                session.commit()
            anonymised.extend(done)
            if len(done) < privacy.RETENTION_BATCH:
                break
        if anonymised:
            log.info("retention: %d blocked resident(s) anonymised", len(anonymised))
        return anonymised

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
            with self.sessions() as session:
                photos = writing.unreferenced_photos(session, now, self.settings.upload_dir)
            for path in photos:
                path.unlink(missing_ok=True)
            if photos:
                log.info("housekeeping: %d inbox photo(s) nobody's removed", len(photos))


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


def last_tick(session: Session) -> datetime | None:
    """When a clock last took or renewed the lease, as every tick does; None when no clock holds
    it (none ever ran, or the last one stopped cleanly and gave it up)."""
    lease = select(SchedulerLease.expires_at).where(SchedulerLease.name == LEASE)
    expires_at = session.scalar(lease)
    return None if expires_at is None else expires_at - LEASE_FOR
