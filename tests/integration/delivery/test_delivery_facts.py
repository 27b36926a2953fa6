"""A delivery's recorded area and household, and its read flags (migration 0015), against the
rows they stand for.

The statistics count a circular from its deliveries alone: each carries the area and household
its resident had at the snapshot, and flags copied from the Open and Acknowledgement rows by
database triggers. A hypothesis state machine drives the real services in any order — opens,
confirmations from LINE and the web (twice, too), answers and their changes, one confirmation
per household, rolled-back writes, residents who move, join a household or block the bot, the
worker sending — and after every step checks that the flags equal a recount from the rows and
that the statistics equal a recount by the areas and households of the moment of sending.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.worker import Worker
from broadcasts.households import families, paper
from broadcasts.residents import acknowledgements, reading, registration
from broadcasts.staff.scope import Scope
from broadcasts.stats import by_area
from broadcasts.stats.circular_counts import Counts
from models import (
    CARD,
    Acknowledgement,
    AnswerOption,
    Association,
    Channel,
    Circular,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    HouseholdMember,
    Open,
    Resident,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock

RESIDENTS = 6


def facts(session: Session, circular_id: int) -> tuple[object, ...]:
    """What the circular's one delivery records: area, household and read flags."""
    row = session.execute(
        select(
            Delivery.association_id,
            Delivery.group_id,
            Delivery.household_key,
            Delivery.opened,
            Delivery.confirmed,
            Delivery.answered,
        ).where(Delivery.circular_id == circular_id)
    ).one()
    return tuple(row)


def test_a_delivery_written_without_its_area_gets_it_and_its_flags_from_the_database(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    """The trigger's path: a delivery written by code other than the snapshot (here the ORM)
    records its resident's area and household, and facts written before it."""
    association = make_association(groups=("1班",))
    resident = make_resident(association=association, group=association.groups[0])
    circular = make_circular(released_at=clock.now())
    session.add(Acknowledgement(circular=circular, resident=resident, channel=Channel.web))
    session.flush()
    session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
    session.flush()
    assert facts(session, circular.id) == (
        association.id,
        association.groups[0].id,
        -resident.id,
        False,
        True,
        False,
    )


def _recount(session: Session, circular_id: int) -> dict[int, tuple[bool, bool, bool]]:
    """resident → (opened, confirmed, answered), from the Open and Acknowledgement rows."""
    opened = set(session.scalars(select(Open.resident_id).where(Open.circular_id == circular_id)))
    acks = dict(
        session.execute(
            select(Acknowledgement.resident_id, Acknowledgement.answer_option_id).where(
                Acknowledgement.circular_id == circular_id
            )
        ).all()
    )
    residents = session.scalars(
        select(Delivery.resident_id).where(
            Delivery.circular_id == circular_id, Delivery.slot == CARD
        )
    )
    return {r: (r in opened, r in acks, acks.get(r) is not None) for r in residents}


@pytest.mark.parametrize("one_per_household", [False, True])
def test_flags_and_statistics_always_equal_a_recount(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    make_association: Callable[..., Association],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
    one_per_household: bool,
) -> None:
    city = Scope(0, city=True)

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            east = make_association(name="東町内会", groups=("1班", "2班"))
            west = make_association(name="西町内会")
            self.areas = [
                (east.id, east.groups[0].id),
                (east.id, east.groups[1].id),
                (west.id, None),
            ]
            self.group_of = {g.id: g for g in east.groups}
            users = [
                *make_line_residents(2, east, east.groups[0]),
                *make_line_residents(2, east, east.groups[1]),
                *make_line_residents(2, west),
            ]
            self.users = users
            self.residents = [
                session.scalars(select(Resident).where(Resident.line_user_id == u)).one()
                for u in users
            ]
            # Residents 0 and 1 live together (1班); the others are households of one.
            invited = families.invite(session, clock, self.residents[0])
            assert invited.code is not None
            code = families.CODE.typed(invited.code)
            assert code is not None
            assert families.join(session, clock, self.residents[1], code) == "joined"
            circular = make_circular(
                targets=[CircularTarget(association=east), CircularTarget(association=west)],
                question="出席しますか",
                one_per_household=one_per_household,
            )
            circular.options = [
                AnswerOption(position=1, label="出席"),
                AnswerOption(position=2, label="欠席"),
            ]
            session.flush()
            self.circular_id = circular.id
            # Where each resident is counted: their registration and household at the snapshot.
            self.sent_area = {r.id: (r.association_id, r.group_id) for r in self.residents}
            self.sent_household = {
                r.id: families.household_of(session, r.id) or -r.id for r in self.residents
            }
            assert release(session, clock, circular, None).released
            session.commit()

        # --- what residents, the worker and time do ---------------------------------------

        @rule(who=st.integers(0, RESIDENTS - 1))
        def open_detail_page(self, who: int) -> None:
            reading.record_open(session, clock, self.circular_id, self.residents[who].id)
            session.commit()

        @rule(who=st.integers(0, RESIDENTS - 1), web=st.booleans())
        def confirm(self, who: int, web: bool) -> None:
            channel = Channel.web if web else Channel.line
            acknowledgements.confirm(session, clock, self.residents[who], self.circular_id, channel)
            session.commit()

        @rule(who=st.integers(0, RESIDENTS - 1), position=st.sampled_from([1, 2]))
        def answer(self, who: int, position: int) -> None:
            acknowledgements.answer(session, clock, self.residents[who], self.circular_id, position)
            session.commit()

        @rule(who=st.integers(0, RESIDENTS - 1))
        def confirm_then_roll_back(self, who: int) -> None:
            acknowledgements.confirm(session, clock, self.residents[who], self.circular_id)
            reading.record_open(session, clock, self.circular_id, self.residents[who].id)
            session.rollback()

        @rule(who=st.integers(0, RESIDENTS - 1), area=st.integers(0, 2))
        def move(self, who: int, area: int) -> None:
            """Registration changes after the snapshot do not move the delivery."""
            resident = self.residents[who]
            resident.association_id, resident.group_id = self.areas[area]
            session.commit()

        @rule(who=st.integers(2, RESIDENTS - 1))
        def join_the_household(self, who: int) -> None:
            """Neither does joining a household (the card was sent to a household of one)."""
            invited = families.invite(session, clock, self.residents[0])
            if invited.code is not None:
                code = families.CODE.typed(invited.code)
                assert code is not None
                families.join(session, clock, self.residents[who], code)
            session.commit()

        @rule(who=st.integers(0, RESIDENTS - 1))
        def block(self, who: int) -> None:
            registration.unfollow(session, clock, self.users[who], clock.now())
            session.commit()

        @rule()
        def worker_sends(self) -> None:
            worker.drain()
            session.expire_all()

        # --- the checks -------------------------------------------------------------------

        @invariant()
        def flags_equal_the_rows(self) -> None:
            flags = {
                r: (o, c, a)
                for r, o, c, a in session.execute(
                    select(
                        Delivery.resident_id,
                        Delivery.opened,
                        Delivery.confirmed,
                        Delivery.answered,
                    ).where(Delivery.circular_id == self.circular_id, Delivery.slot == CARD)
                )
            }
            assert flags == _recount(session, self.circular_id)

        @invariant()
        def statistics_equal_a_recount_where_it_was_sent(self) -> None:
            facts = _recount(session, self.circular_id)
            status = dict(
                session.execute(
                    select(Delivery.resident_id, Delivery.status).where(
                        Delivery.circular_id == self.circular_id, Delivery.slot == CARD
                    )
                ).all()
            )
            expected: dict[Any, Counter[str]] = {}
            for resident_id, (opened, confirmed, answered) in facts.items():
                counts = expected.setdefault(self.sent_area[resident_id], Counter())
                counts["recipients"] += 1
                counts[status[resident_id].value] += 1
                counts["opened"] += opened
                counts["confirmed"] += confirmed
                counts["answered"] += answered
            found = {
                (row.association_id, row.id if row.level == "group" else None): row.counts
                for row in by_area.breakdown(session, self.circular_id, city)
                if row.level == "group"
                or (row.level == "association" and row.id == self.areas[2][0])
            }
            assert found == {
                area: Counts(
                    recipients=c["recipients"],
                    delivered=c["sent"],
                    pending=c["pending"],
                    failed=c["failed"],
                    skipped=c["skipped"],
                    opened=c["opened"],
                    confirmed=c["confirmed"],
                    answered=c["answered"],
                )
                for area, c in expected.items()
            }
            sent = [r for r in facts if status[r] is DeliveryStatus.sent]
            reached = {self.sent_household[r] for r in sent}
            confirmed = {self.sent_household[r] for r in sent if facts[r][1]}
            counted = families.HouseholdCounts(len(reached), len(confirmed))
            assert families.summary(session, self.circular_id, city) == counted
            # The page's way: the households of one counted in the breakdown's pass.
            rows = by_area.breakdown(session, self.circular_id, city)
            alone = by_area.alone(rows)
            assert families.summary(session, self.circular_id, city, alone) == counted
            circular = session.get_one(Circular, self.circular_id)
            for row in paper.coverage(session, circular, city):
                here = [r for r in sent if self.sent_area[r][1] == row.group_id]
                assert row.line_households == len({self.sent_household[r] for r in here})
                assert row.line_confirmed == len(
                    {self.sent_household[r] for r in here if facts[r][1]}
                )

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


def test_backfill_statement_restores_wiped_copies(
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    """Migration 0015's backfill, run over deliveries whose copies are wrong, puts them right."""
    from importlib import import_module

    migration = import_module("migrations.versions.0015_delivery_facts")
    association = make_association(groups=("1班",))
    resident = make_resident(association=association, group=association.groups[0])
    circular = make_circular(released_at=clock.now())
    session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
    session.add(Open(circular_id=circular.id, resident_id=resident.id, opened_at=clock.now()))
    session.flush()
    session.execute(
        text(
            "UPDATE deliveries SET association_id = NULL, group_id = NULL, household_key = NULL,"
            " opened = false, confirmed = true, answered = true"
        )
    )
    session.execute(text(migration.BACKFILL))
    assert facts(session, circular.id) == (
        association.id,
        association.groups[0].id,
        -resident.id,
        True,
        False,
        False,
    )
    assert session.scalar(select(HouseholdMember.household_id)) is None
