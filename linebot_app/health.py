"""`/healthz`: for load balancers and `make demo`."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from linebot_app.extensions import db
from linebot_app.schema import schema_problem

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    try:
        problem = schema_problem(db.engine)
    except SQLAlchemyError as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return {"status": "unavailable", "reason": "database unreachable"}, 503
    if problem:
        return {"status": "unavailable", "reason": problem}, 503
    return {"status": "ok"}, 200
