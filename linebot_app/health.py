"""`/healthz`: for load balancers and `make demo`."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from broadcasts.delivery import reports
from linebot_app.extensions import clock, db
from linebot_app.schema import schema_problem

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, object], int]:
    """`senders`: the delivery workers seen in the last seconds, their senders alive and the
    senders they run when healthy (fewer alive than wanted: a sender is being restarted)."""
    try:
        problem = schema_problem(db.engine)
        if problem:
            return {"status": "unavailable", "reason": problem}, 503
        senders = reports.senders(db.session, clock)
    except SQLAlchemyError as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return {"status": "unavailable", "reason": "database unreachable"}, 503
    detail = {"workers": senders.workers, "alive": senders.alive, "wanted": senders.wanted}
    return {"status": "ok", "senders": detail}, 200
