"""Per-request overhead found by profiling the webhook (issue #9, docs/BENCHMARKS.md)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models import Acknowledgement, Circular, Delivery, Resident
from tests.helpers.webhooks import postback_event


def test_no_async_teardown_starts_a_thread_per_request(app: Flask) -> None:
    # flask-sqlalchemy-lite registers one for async sessions; Kairan has none, and Flask would
    # run it through asgiref's thread at the end of every request.
    assert app.teardown_appcontext_funcs
    assert not [f for f in app.teardown_appcontext_funcs if inspect.iscoroutinefunction(f)]


def test_a_confirmation_costs_four_statements_and_a_commit(
    post_webhook: Callable[..., Any],
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    # Claim the event, find the resident, check the delivery (loading the circular), insert the
    # acknowledgement. The household step reuses the circular already loaded.
    resident = make_resident()
    circular = make_circular()
    session.add(Delivery(circular=circular, resident=resident))
    session.commit()
    confirmation = postback_event(resident.line_user_id, f"ack:{circular.id}")
    session.close()  # the request starts with nothing loaded, as in production
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = post_webhook([confirmation])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
    assert len(statements) == 4, statements
