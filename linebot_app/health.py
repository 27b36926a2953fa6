"""`/healthz`: for load balancers and `make demo`.

`ok`, or `degraded` (still 200: the web itself serves, a load balancer must keep sending to it)
with the reasons when the clock has stopped ticking or a batch waits for a worker too long;
503 only when this process cannot serve (no database, an old schema)."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from broadcasts.delivery import reports
from broadcasts.monitoring import figures
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
        reasons = figures.problems(db.session, clock)
    except SQLAlchemyError as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return {"status": "unavailable", "reason": "database unreachable"}, 503
    detail = {"workers": senders.workers, "alive": senders.alive, "wanted": senders.wanted}
    if reasons:
        return {"status": "degraded", "reason": "; ".join(reasons), "senders": detail}, 200
    return {"status": "ok", "senders": detail}, 200
