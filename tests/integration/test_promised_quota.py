"""The quota promised to circulars still sending is counted from their open batches (issue #9:
the count no longer reads every delivery ever made)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from broadcasts.release import promised_elsewhere, release
from broadcasts.worker import Worker
from models import Association, BatchStatus, Circular, CircularTarget, DeliveryBatch
from tests.conftest import FakeClock


def test_pending_deliveries_count_until_line_accepts_them(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    association = make_association()
    make_line_residents(600, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    assert promised_elsewhere(session) == 0
    assert release(session, clock, circular, None).released
    session.commit()
    assert promised_elsewhere(session) == 600
    # A held batch (its key too old to resend) still holds its residents' quota.
    session.execute(update(DeliveryBatch).values(status=BatchStatus.held))
    session.commit()
    assert promised_elsewhere(session) == 600
    session.execute(update(DeliveryBatch).values(status=BatchStatus.pending))
    session.commit()
    assert worker.run_once()
    session.expire_all()
    assert promised_elsewhere(session) == 100
    assert worker.drain() == 1
    session.expire_all()
    assert promised_elsewhere(session) == 0
