"""What the dashboard's areas share: the scope checks that answer 404, the page number,
a rate as a CSV cell, and LINE's remaining quota asked outside any transaction.

Anything outside the viewer's scope answers 404, whether or not it exists, so guessing ids tells
nothing. The viewer themselves (who is logged in, and the decorators) is `auth`'s; the CSV writer
is `exports`'; links that leave the web app are `links`'.
"""

from __future__ import annotations

import urllib3
from flask import abort, request

from broadcasts.delivery.line import remaining_quota
from linebot_app.dashboard.auth import current
from linebot_app.extensions import db, line
from linebot_app.ids import page_value
from models import Association, Circular


def page_number() -> int:
    """The `?page=` asked for, 1 when none or nonsense."""
    return max(request.args.get("page", 1, type=page_value) or 1, 1)


def percent_cell(value: float | None) -> str:
    """A rate as an export writes it: a percentage with one decimal, empty when there is none."""
    return "" if value is None else f"{value * 100:.1f}"


# --- scope checks -------------------------------------------------------------------------------


def seen_circular(circular_id: int) -> Circular:
    """The circular, if the viewer's scope sees it."""
    if not current().scope.may_see(db.session, circular_id):
        abort(404)
    return db.session.get_one(Circular, circular_id)


def managed_circular(circular_id: int) -> Circular:
    """The circular, if the viewer may change, send or correct it (Scope.may_manage)."""
    circular = db.session.get(Circular, circular_id)
    if circular is None or not current().scope.may_manage(db.session, circular):
        abort(404)
    return circular


def officer_association(association_id: int) -> Association:
    """The association, if the viewer is its officer or an admin."""
    scope = current().scope
    if not (scope.city or scope.names_residents_of(association_id)):
        abort(404)
    return db.session.get(Association, association_id) or abort(404)


# --- LINE's quota -------------------------------------------------------------------------------


class QuotaUnknown(Exception):
    """LINE did not say how many messages remain."""


def line_quota() -> int | None:
    """LINE's remaining quota, after ending the read transaction (None: no monthly limit)."""
    from linebot.v3.messaging import ApiException

    db.session.rollback()
    try:
        return remaining_quota(line())
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        raise QuotaUnknown from error
