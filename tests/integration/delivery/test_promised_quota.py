"""The quota promised to circulars still sending is counted from their open batches (issue #9:
the count no longer reads every delivery ever made)."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadcasts.circulars.release import Release, release
from broadcasts.delivery.monthly_quota import promised_elsewhere
from broadcasts.delivery.worker import Worker
from linebot_app.cli import cli
from models import Association, BatchStatus, Circular, CircularTarget, Delivery, DeliveryBatch
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.databases import race


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


# --- one release at a time (issue #24, item 3) --------------------------------------------------


def test_two_releases_of_one_circular_at_once_the_loser_is_told_in_japanese(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    association = make_association()
    make_line_residents(3, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    session.commit()

    def send(s: Session) -> Release:
        return release(s, clock, s.get_one(Circular, circular.id), None)

    late = race(app, send)
    assert isinstance(late, Release), late
    assert not late.released
    assert late.reason == "この回覧はすでに送信を始めています"
    assert session.scalar(select(func.count()).select_from(Delivery)) == 3


def test_two_releases_at_once_cannot_both_spend_the_same_quota(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    circulars = []
    for name in ("東町内会", "西町内会"):
        association = make_association(name=name)
        make_line_residents(3, association)
        circulars.append(make_circular(targets=[CircularTarget(association=association)]))
    session.commit()
    turns = iter(circulars)

    def send(s: Session) -> Release:
        # LINE said 5 messages are left to both, before either transaction began.
        return release(s, clock, s.get_one(Circular, next(turns).id), 5)

    late = race(app, send)
    assert isinstance(late, Release), late
    assert not late.released
    assert late.reason is not None and "必要 3 通、残り 2 通" in late.reason
    assert session.scalar(select(func.count()).select_from(Delivery)) == 3


def test_sending_a_circular_twice_from_the_command_says_so_in_one_line(
    app: Flask,
    session: Session,
    sim: SimulatorClient,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    association = make_association()
    make_line_residents(3, association)
    circular = make_circular(targets=[CircularTarget(association=association)])
    session.commit()
    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)
    first = runner.invoke(cli, ["circulars", "send", str(circular.id)], obj=info)
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["circulars", "send", str(circular.id)], obj=info)
    assert again.exit_code != 0
    assert again.output.strip().splitlines()[-1] == (
        "送信しませんでした / Not sent: この回覧はすでに送信を始めています"
    )
    assert "一時停止" not in again.output
