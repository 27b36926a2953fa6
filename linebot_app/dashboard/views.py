"""The dashboard: one blueprint under /dashboard holding an area blueprint each — circulars
(the list and composing), stats, paper, rollout, staff, safety — and what they all share as
pages: logging in and out, the language, the template filters and words, the error pages (a
catch-all for unknown addresses included), and the security headers.

Its views are thin: find the viewer's scope, call a service, render; the few that write commit
once at the end. Anything outside the viewer's scope answers 404, whether or not it exists, so
guessing ids tells nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask import session as http_session
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.core.clock import TOKYO
from broadcasts.staff import logins
from linebot_app.dashboard import (
    circulars,
    house_labels,
    inbox,
    interest_groups,
    labels,
    line_groups,
    messages,
    paper,
    privacy,
    respondents,
    rollout,
    safety,
    staff,
    stats,
    target_picker,
)
from linebot_app.dashboard.auth import log_in, log_out, viewer
from linebot_app.dashboard.forms import ConfirmForm
from linebot_app.dashboard.i18n import LANGUAGE_KEY, LOCALES, localized
from linebot_app.dashboard.links import same_site_path
from linebot_app.extensions import clock, db
from models import CircularStatus

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
# Each area's endpoints are named after it: `dashboard.stats.circular_stats`.
for area in (
    circulars,
    target_picker,
    stats,
    messages,
    respondents,
    paper,
    house_labels,
    line_groups,
    interest_groups,
    inbox,
    rollout,
    staff,
    safety,
    privacy,
):
    bp.register_blueprint(area.bp)


# --- logging in and out -------------------------------------------------------------------------


@bp.get("/login")
def login_help() -> str:
    """Where anyone not logged in lands: how to get a link."""
    return render_template("dashboard/login_help.html")


@bp.get("/login/<token>")
def login_link(token: str) -> str:
    """Shows a button; only the POST uses the link up, so a link preview cannot spend it."""
    return render_template("dashboard/login.html", form=ConfirmForm(), token=token)


@bp.post("/login/<token>")
def login(token: str) -> Response | tuple[str, int]:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    staff_member_id = logins.redeem(db.session, clock, token)
    if staff_member_id is None:
        db.session.rollback()
        return render_template("dashboard/login_failed.html"), 400
    log_in(staff_member_id)
    db.session.commit()
    return redirect(url_for("dashboard.circulars.index"))


@bp.post("/logout")
def logout() -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    log_out()
    db.session.commit()
    return redirect(url_for("dashboard.login_help"))


@bp.get("/language/<code>")
def language(code: str) -> Response:
    if code in LOCALES:
        http_session[LANGUAGE_KEY] = code
    return redirect(same_site_path(request.args.get("next"), url_for("dashboard.circulars.index")))


# --- template helpers ---------------------------------------------------------------------------


@bp.app_template_filter("tokyo")
def tokyo(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


bp.add_app_template_filter(localized, "localized")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@bp.context_processor
def inject() -> dict[str, Any]:
    return {
        "viewer": viewer(),
        "nav_form": ConfirmForm(),
        "CircularStatus": CircularStatus,
        "status_label": labels.status_label,
        "role_label": labels.role_label,
        "action_label": labels.action_label,
        "subject_label": labels.subject_label,
        "detail_label": labels.detail_label,
        "detail_value": labels.detail_value,
        "reminder_label": labels.reminder_label,
        "page_language": str(get_locale() or "ja"),
    }


# --- errors and headers -------------------------------------------------------------------------


def _error(code: int, message: str) -> tuple[str, int]:
    return render_template("dashboard/error.html", code=code, message=message), code


@bp.errorhandler(400)
def bad_request(_error_: Exception) -> tuple[str, int]:
    return _error(400, _("この操作は受け付けられませんでした。ページを開き直してください。"))


@bp.errorhandler(403)
def forbidden(_error_: Exception) -> tuple[str, int]:
    return _error(403, _("この画面を見る権限がありません。"))


@bp.errorhandler(404)
def not_found(_error_: Exception) -> tuple[str, int]:
    return _error(404, _("見つかりませんでした。"))


@bp.get("/<path:_address>")
def unknown_address(_address: str) -> Response:
    """An address no route knows (cut off in a mail, mistyped): only a rule of the blueprint's
    own brings the 404 to its handler and headers; the app's default page is English."""
    abort(404)


# The resident pages' headers (circulars.views.PAGE_SECURITY_HEADERS), widened only by what the
# dashboard's own files need: its scripts, their fetches of progress, and the style attributes
# that draw its bars.
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self';"
        " style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none';"
        " base-uri 'none'"
    ),
}


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    # Pages name residents and staff: never kept by a browser or a proxy. Static files may be.
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response
