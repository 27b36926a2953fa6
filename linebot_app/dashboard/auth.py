"""Who is looking: the logged-in staff member and their scope, loaded from the database on every
request (reading only), so a removed role stops working at the next click.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure outside demo mode). A login
lasts PERMANENT_SESSION_LIFETIME from the moment the link was used, however active the session:
`login_at` is checked here, not only the cookie's own expiry, which activity would extend.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import abort, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from broadcasts import scope as scopes
from broadcasts.scope import Scope
from linebot_app.extensions import db
from models import StaffMember

STAFF_KEY = "staff_id"
LOGIN_AT_KEY = "login_at"
VIEWER_KEY = "kairan.viewer"

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Viewer:
    member: StaffMember
    scope: Scope

    @property
    def is_admin(self) -> bool:
        return self.scope.city


def log_in(staff_member_id: int) -> None:
    # A fresh session: nothing from before the login (a planted cookie) survives it.
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[STAFF_KEY] = staff_member_id
    session[LOGIN_AT_KEY] = int(time.time())
    session.permanent = True


def log_out() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def viewer() -> Viewer | None:
    """The staff member behind this request, or None (not logged in, expired, or no role)."""
    # Cached per request (not on `g`, which an app context may share between requests).
    if VIEWER_KEY in request.environ:
        return cast(Viewer | None, request.environ[VIEWER_KEY])
    found: Viewer | None = None
    staff_id = session.get(STAFF_KEY)
    login_at = session.get(LOGIN_AT_KEY)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if isinstance(staff_id, int) and isinstance(login_at, int):
        if time.time() - login_at > lifetime:
            log_out()
        else:
            member = db.session.get(StaffMember, staff_id)
            if member is not None:
                found = Viewer(member, scopes.load(db.session, member.id))
    request.environ[VIEWER_KEY] = found
    return found


def login_required(view: View) -> View:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        who = viewer()
        if who is None:
            return redirect(url_for("dashboard.login_help"))
        if who.scope.is_empty:
            # Every role was taken away: the session is worth nothing any more.
            log_out()
            abort(403)
        return view(*args, **kwargs)

    return cast(View, wrapped)


def admin_required(view: View) -> View:
    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current().is_admin:
            # Like an id outside one's scope: the page does not exist for this viewer.
            abort(404)
        return view(*args, **kwargs)

    return cast(View, wrapped)


def current() -> Viewer:
    """The viewer, inside a view wrapped by `login_required`."""
    who = viewer()
    if who is None:
        abort(401)
    return who


def back_to_login() -> Response:
    return redirect(url_for("dashboard.login_help"))
