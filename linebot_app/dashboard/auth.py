"""Who is looking: the logged-in staff member and their scope, loaded from the database on every
request (reading only), so a removed role stops working at the next click. A role whose term has
ended is removed at that request (broadcasts.staff.terms.request_scope), which ends the member's
sessions as removing it by hand does: access ends at the end date without anyone acting.

The cookie (Flask's signed session: HttpOnly, SameSite=Lax, Secure outside demo mode) carries
only the id of a session kept on the server (broadcasts.staff.logins). A login lasts
PERMANENT_SESSION_LIFETIME from the moment its link was used, however active it is; logging out
or losing a role ends it on the server, so a copy of the cookie stops working too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import abort, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from broadcasts.staff import logins, terms
from broadcasts.staff.scope import Scope
from linebot_app.extensions import clock, db
from models import StaffMember

SESSION_KEY = "dashboard_session"
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
    """Start a session for the staff member; the caller commits."""
    # A fresh cookie: nothing from before the login (a planted cookie) survives it.
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    lifetime = current_app.permanent_session_lifetime
    session[SESSION_KEY] = logins.start_session(db.session, clock, staff_member_id, lifetime)
    session.permanent = True


def log_out() -> None:
    """End the session on the server and in the browser; the caller commits."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        logins.end_session(db.session, token)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def viewer() -> Viewer | None:
    """The staff member behind this request, or None (not logged in, ended, expired, or no
    role)."""
    # Cached per request (not on `g`, which an app context may share between requests).
    if VIEWER_KEY in request.environ:
        return cast(Viewer | None, request.environ[VIEWER_KEY])
    found: Viewer | None = None
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        member = logins.session_member(db.session, clock, token)
        if member is None:
            # Ended or expired on the server: the browser forgets it too (nothing is written).
            session.pop(SESSION_KEY)
        else:
            scope = terms.request_scope(db.session, clock, member.id)
            if scope is None:
                # A term ended: the role is gone and the member's sessions with it.
                db.session.commit()
                session.pop(SESSION_KEY)
            else:
                found = Viewer(member, scope)
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
            db.session.commit()
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
