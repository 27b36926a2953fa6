"""Logs carry ids, never message text, names or LINE user ids (issue #9's security check)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from broadcasts.circulars.release import release
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from linebot_app.extensions import line
from models import Association, Circular, CircularTarget
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.webhooks import line_event, postback_event, text_event

SECRET_TEXT = "私の電話番号は090-1234-5678です"
TITLE = "町内会長からの大切なお知らせ"
BODY = "山田さんの家の前に集合してください"


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Collected]:
    handler = Collected()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def test_a_residents_whole_journey_leaves_no_personal_data_in_the_logs(
    logs: Collected,
    post_webhook: Callable[..., Any],
    session: Session,
    sim: SimulatorClient,
    clock: FakeClock,
    worker: Worker,
    make_association: Callable[..., Association],
    make_line_residents: Callable[..., list[str]],
    make_circular: Callable[..., Circular],
) -> None:
    association = make_association(name="桜ヶ丘東町内会")
    session.commit()
    user = sim.create_user("山田 花子")
    for event in (
        line_event("follow", user),
        text_event(user, SECRET_TEXT),
        text_event(user, "設定"),
        postback_event(user, "reg:dp:0"),
        postback_event(user, "not-a-kairan-postback"),
    ):
        assert post_webhook([event]).status_code == 200
    recipients = make_line_residents(3, association)
    circular = make_circular(
        title=TITLE, body=BODY, targets=[CircularTarget(association=association)]
    )
    assert release(session, clock, circular, remaining_quota(line())).released
    session.commit()
    assert worker.drain() == 1
    for recipient in recipients:
        assert post_webhook([postback_event(recipient, f"ack:{circular.id}")]).status_code == 200

    text = "\n".join(logs.lines)
    assert "webhook event" in text, "the journey should have been logged by id"
    for secret in (user, *recipients, "山田", "花子", SECRET_TEXT, TITLE, BODY):
        assert secret not in text


def test_a_failed_statement_does_not_quote_its_parameters(session: Session) -> None:
    """A database error's text names its statement; the values bound to it (LINE user ids,
    message text) stay out of it, and so out of every log line and traceback that prints it."""
    with pytest.raises(DBAPIError) as failed:
        session.execute(text("INSERT INTO no_such_table VALUES (:x)"), {"x": SECRET_TEXT})
    session.rollback()
    assert SECRET_TEXT not in str(failed.value)
    assert "hidden" in str(failed.value)
